"""Affine registration of a native FLAIR to the MNI152 template (SimpleITK, mutual information).

The result is one 4x4 matrix, ``model_to_native`` (RAS world mm -> RAS world mm), from which
both directions of resampling are composed, so that every image is interpolated exactly once
(native -> model grid for the network input, model grid -> native for its probabilities).

Input that already lies on the 1 mm MNI grid (182x218x182) or the template's own grid and is
skull-stripped (zero background) is detected and passed straight through (identity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mslesion.errors import InputError
from mslesion.io.nifti import NiftiVolume
from mslesion.preprocess import templates

_RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])  # ITK works in LPS, nibabel in RAS


@dataclass(frozen=True)
class RegistrationConfig:
    """Multi-resolution affine registration settings.

    Shrink factors are per pyramid level, relative to ``working_spacing_mm`` (2 mm): by
    default rigid at 8 then 4 mm, then affine at 4 then 2 mm; smoothing sigma is 0.75 x the
    level's voxel size.
    """

    working_spacing_mm: float = 2.0
    rigid_shrink: tuple[int, ...] = (4, 2)
    affine_shrink: tuple[int, ...] = (2, 1)
    histogram_bins: int = 32
    sampling_fraction: float = 0.1
    iterations: int = 60
    learning_rate: float = 1.0
    seed: int = 12345
    threads: int | None = None


@dataclass(frozen=True)
class RegistrationResult:
    """``model_to_native``: 4x4 RAS mm -> RAS mm; ``passthrough``: input was already in MNI."""

    model_to_native: np.ndarray
    passthrough: bool
    metric: float | None = None


def is_mni_skullstripped(volume: NiftiVolume, *, atol: float = 1e-2) -> bool:
    """True when ``volume`` is on the 1 mm MNI box or the template grid, with zero background.

    "Zero background" means at least 50 % of all voxels and 90 % of the outer 2-voxel border
    are exactly zero (skull-stripped MNI scans here: 72-85 % zeros; some, such as MSLesSeg
    P14 T1, have a few non-zero voxels on the border, so an all-zero border is too strict).
    """
    on_mni = volume.shape == templates.MNI_SHAPE and np.allclose(
        volume.affine, templates.MNI_AFFINE, atol=atol
    )
    t1_path = templates.template_path("t1")
    if not on_mni:
        import nibabel as nib

        tpl = nib.load(str(t1_path))
        on_tpl = volume.shape == tpl.shape[:3] and np.allclose(volume.affine, tpl.affine, atol=atol)
        if not on_tpl:
            return False
    data = volume.data
    border = np.ones(data.shape, dtype=bool)
    border[2:-2, 2:-2, 2:-2] = False
    return float(np.mean(data[border] == 0)) >= 0.9 and float(np.mean(data == 0)) >= 0.5


def to_sitk(data: np.ndarray, affine: np.ndarray):  # noqa: ANN201 - SimpleITK image
    """SimpleITK image with the geometry of ``affine`` (RAS voxel->world) for ``data`` (X, Y, Z)."""
    import SimpleITK as sitk

    lps = _RAS_TO_LPS @ affine
    spacing = np.linalg.norm(lps[:3, :3], axis=0)
    direction = lps[:3, :3] / spacing
    if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-4):
        raise InputError(None, "sheared (non-orthogonal) voxel axes are not supported")
    img = sitk.GetImageFromArray(
        np.ascontiguousarray(np.asarray(data, dtype=np.float32).transpose(2, 1, 0))
    )
    img.SetSpacing([float(v) for v in spacing])
    img.SetOrigin([float(v) for v in lps[:3, 3]])
    img.SetDirection([float(v) for v in direction.ravel()])
    return img


def _resample_iso(img, spacing: float, smooth: bool):  # noqa: ANN001, ANN202
    """Same field of view at ``spacing`` mm, Gaussian-smoothed first when downsampling."""
    import SimpleITK as sitk

    old = np.array(img.GetSpacing())
    size = np.maximum(np.ceil(np.array(img.GetSize()) * old / spacing).astype(int), 1)
    if smooth and spacing > old.min():
        img = sitk.SmoothingRecursiveGaussian(img, spacing / 2.0)  # sigma in mm: anti-aliasing
    return sitk.Resample(
        img,
        [int(v) for v in size],
        sitk.Transform(),
        sitk.sitkLinear,
        img.GetOrigin(),
        [spacing] * 3,
        img.GetDirection(),
        0.0,
        sitk.sitkFloat32,
    )


def register_to_template(
    volume: NiftiVolume, config: RegistrationConfig = RegistrationConfig()
) -> RegistrationResult:
    """Affine-register ``volume`` (moving) to the template T1 (fixed); see the module docstring.

    Centre-of-mass (moments) initialisation, Mattes mutual information (FLAIR vs T1 contrast),
    regular-step gradient descent over a 3-level pyramid at 2-6 mm. Deterministic for a fixed
    ``config.seed`` and thread count.
    """
    if is_mni_skullstripped(volume):
        return RegistrationResult(np.eye(4), passthrough=True)
    import SimpleITK as sitk

    if config.threads:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(config.threads)
    t1, t1_affine = templates.load_template_map("t1")
    fixed = _resample_iso(to_sitk(t1, t1_affine), config.working_spacing_mm, smooth=True)
    moving = _resample_iso(
        to_sitk(volume.data, volume.affine), config.working_spacing_mm, smooth=True
    )
    # Only the template brain (dilated 1 cm) drives the metric: the moving skull and scalp
    # then fall outside the sampled region instead of being pulled onto empty template space.
    fixed_mask = sitk.BinaryDilate(
        sitk.Cast(fixed > 0.05 * float(np.max(t1)), sitk.sitkUInt8), [5, 5, 5]
    )
    init = sitk.CenteredTransformInitializer(
        fixed, moving, sitk.Euler3DTransform(), sitk.CenteredTransformInitializerFilter.MOMENTS
    )
    rigid = _run(fixed, moving, fixed_mask, init, config, volume, config.rigid_shrink)
    affine = sitk.AffineTransform(3)
    affine.SetCenter(rigid.GetCenter())
    affine.SetMatrix(rigid.GetMatrix())
    affine.SetTranslation(rigid.GetTranslation())
    final = _run(fixed, moving, fixed_mask, affine, config, volume, config.affine_shrink)
    return RegistrationResult(_transform_to_ras(final), passthrough=False)


def _run(
    fixed,
    moving,
    fixed_mask,
    initial,
    config: RegistrationConfig,
    volume: NiftiVolume,  # noqa: ANN001
    shrink: tuple[int, ...],
):  # noqa: ANN202
    """One multi-resolution stage (rigid, then affine from the rigid result)."""
    import SimpleITK as sitk

    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricFixedMask(fixed_mask)
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=config.histogram_bins)
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    reg.SetMetricSamplingPercentage(config.sampling_fraction, config.seed)
    reg.SetInterpolator(sitk.sitkLinear)
    reg.SetOptimizerAsRegularStepGradientDescent(
        learningRate=config.learning_rate,
        minStep=1e-3,
        numberOfIterations=config.iterations,
        relaxationFactor=0.6,
        gradientMagnitudeTolerance=1e-6,
    )
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel(list(shrink))
    reg.SetSmoothingSigmasPerLevel([0.75 * f * config.working_spacing_mm for f in shrink])
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    reg.SetInitialTransform(initial, inPlace=False)
    try:
        result = reg.Execute(fixed, moving)
    except RuntimeError as exc:
        raise InputError(
            volume.path, f"registration to MNI152 failed ({str(exc).splitlines()[-1][:100]})"
        ) from exc
    if isinstance(result, sitk.CompositeTransform):
        result = result.GetNthTransform(result.GetNumberOfTransforms() - 1)
    return result.Downcast() if hasattr(result, "Downcast") else result


def _transform_to_ras(transform) -> np.ndarray:  # noqa: ANN001
    """4x4 RAS matrix of an ITK affine-like transform (fixed LPS point -> moving LPS point)."""

    aff = transform
    mat = np.array(aff.GetMatrix()).reshape(3, 3)
    centre = np.array(aff.GetCenter())
    trans = np.array(aff.GetTranslation())
    lps = np.eye(4)
    lps[:3, :3] = mat
    lps[:3, 3] = trans + centre - mat @ centre
    return _RAS_TO_LPS @ lps @ _RAS_TO_LPS


def voxel_map(
    grid_affine: np.ndarray, model_to_native: np.ndarray, native_affine: np.ndarray
) -> np.ndarray:
    """4x4 map: model-grid voxel indices -> native voxel indices (compose once, resample once)."""
    return np.linalg.inv(native_affine) @ model_to_native @ grid_affine


def resample_voxels(
    data: np.ndarray, vox_out_to_in: np.ndarray, out_shape: tuple[int, int, int], *, order: int = 1
) -> np.ndarray:
    """Resample ``data`` (X, Y, Z) so that ``out[i] = data[vox_out_to_in @ i]``; outside is 0.

    ``order`` 1 is trilinear, 0 nearest. Uses SimpleITK (multi-threaded) on index-space images.
    """
    import SimpleITK as sitk

    src = sitk.GetImageFromArray(
        np.ascontiguousarray(np.asarray(data, dtype=np.float32).transpose(2, 1, 0))
    )
    tx = sitk.AffineTransform(3)
    tx.SetMatrix([float(v) for v in vox_out_to_in[:3, :3].ravel()])
    tx.SetTranslation([float(v) for v in vox_out_to_in[:3, 3]])
    ref = sitk.Image([int(v) for v in out_shape], sitk.sitkFloat32)
    interp = sitk.sitkLinear if order == 1 else sitk.sitkNearestNeighbor
    out = sitk.Resample(src, ref, tx, interp, 0.0, sitk.sitkFloat32)
    return sitk.GetArrayFromImage(out).transpose(2, 1, 0).copy()
