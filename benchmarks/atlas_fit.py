"""The benchmark's atlas regions fitted to each scan by a 9-parameter affine (rotation, shift,
scale per axis) of the atlas brain mask onto the scan's brain mask.

Split from ``synth_realism.py`` (which imports it) to keep each script short; run that one.

All scans here lie on the MNI 1 mm grid, but not all at MNI size: the open_ms_data scans were
registered rigidly, so their brains fill 0.79-0.89 of the atlas along each axis (brain masks
~1,100 cm3 against the atlas' 1,830; Dice of the two masks 0.74-0.75), and each synthetic case
is scaled at random (Dice 0.91 for seed 0). Read through the unfitted atlas, such a scan's
"WM" holds cortex and sulcal CSF, its "ventricles" periventricular WM. Fitted, the masks agree
to Dice 0.91-0.96 in every scan. The fit is on the masks, not the images, so that a FLAIR and
the atlas' T1 need no cross-modal metric and a lesion cannot pull it. Rows that read plain MNI
mm of the grid (the front / back WM's y bands, the sulcal rows' z floor) are not fitted.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from mslesion.preprocess.register import to_sitk

#: Gaussian blur (voxels) of both masks before the mean-squares fit: a smooth cost.
FIT_BLUR_VOX = 2.0
#: Shrink factors of the fit's pyramid (voxels of 4, 2, 1 mm).
FIT_SHRINK = (4, 2, 1)
#: Seed of the metric's random voxel sample: the same scan, the same fit.
FIT_SEED = 19
#: RAS affine under which ``to_sitk`` gives an image whose physical points are voxel indices.
INDEX_AFFINE = np.diag([-1.0, -1.0, 1.0, 1.0])


def _image(volume: np.ndarray):  # noqa: ANN202 - SimpleITK image
    """SimpleITK image of an (X, Y, Z) array in voxel units: all volumes share one grid, so the
    fit can stay in index space. (The RAS affine diag(-1, -1, 1) is ITK's LPS identity, so a
    physical point is the voxel index; with ``np.eye(4)`` the flipped axes moved the fit's
    path: patient26's fitted ventricle region by 0.6 % of its voxels.)"""
    return to_sitk(volume.astype(np.float32, copy=False), INDEX_AFFINE)


def fit_atlas(scan_brain: np.ndarray, atlas_brain: np.ndarray):  # noqa: ANN201 - sitk transform
    """SimpleITK transform (scan index -> atlas index) that lays ``atlas_brain`` over
    ``scan_brain`` (bool (X, Y, Z), one grid): a ScaleVersor3D started at the masks' centres of
    mass, fitted by mean squares of the blurred masks over a 4 / 2 / 1 voxel pyramid."""
    import SimpleITK as sitk

    fixed = _image(ndimage.gaussian_filter(scan_brain.astype(np.float32), FIT_BLUR_VOX))
    moving = _image(ndimage.gaussian_filter(atlas_brain.astype(np.float32), FIT_BLUR_VOX))
    start = sitk.CenteredTransformInitializer(
        fixed,
        moving,
        sitk.ScaleVersor3DTransform(),
        sitk.CenteredTransformInitializerFilter.MOMENTS,
    )
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMeanSquares()
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    reg.SetMetricSamplingPercentage(0.05, seed=FIT_SEED)
    reg.SetInterpolator(sitk.sitkLinear)
    reg.SetOptimizerAsRegularStepGradientDescent(1.0, 1e-4, 200)
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel(list(FIT_SHRINK))
    reg.SetSmoothingSigmasPerLevel([s / 2.0 for s in FIT_SHRINK])
    reg.SetInitialTransform(start, inPlace=False)
    return reg.Execute(fixed, moving)


def warp_regions(regions: dict[str, np.ndarray], transform) -> dict[str, np.ndarray]:  # noqa: ANN001
    """Each bool (X, Y, Z) region of ``regions`` resampled onto the scan through ``transform``
    (:func:`fit_atlas`), nearest voxel."""
    import SimpleITK as sitk

    out = {}
    for key, region in regions.items():
        img = _image(region.astype(np.float32))
        warped = sitk.Resample(img, img, transform, sitk.sitkNearestNeighbor, 0.0)
        out[key] = sitk.GetArrayFromImage(warped).transpose(2, 1, 0) > 0.5
    return out


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice overlap of two bool masks (1.0 for two empty ones)."""
    total = int(a.sum()) + int(b.sum())
    return 2.0 * float((a & b).sum()) / total if total else 1.0


def affine_matrix(transform) -> np.ndarray:  # noqa: ANN001
    """4 x 4 matrix (scan index -> atlas index, homogeneous) of a :func:`fit_atlas` result."""
    inner = _scale_versor(transform)
    matrix = np.asarray(inner.GetMatrix(), float).reshape(3, 3)
    centre = np.asarray(inner.GetCenter(), float)
    out = np.eye(4)
    out[:3, :3] = matrix
    out[:3, 3] = centre + np.asarray(inner.GetTranslation(), float) - matrix @ centre
    return out


def mean_transform(transforms: list) -> object:
    """SimpleITK affine transform whose matrix is the mean of the ``transforms``' 4 x 4
    matrices: the fit for a scan known only by its lesion mask, from scans of the same
    pipeline (open_ms_data: patients 19 and 26 fit at 0.849 and 0.848 scale; read through
    each other's fit their periventricular shares are 0.08 and 0.11 against 0.11 and 0.16 with
    their own and 0.22 and 0.31 unfitted)."""
    import SimpleITK as sitk

    mean = np.mean([affine_matrix(t) for t in transforms], axis=0)
    out = sitk.AffineTransform(3)
    out.SetMatrix(tuple(mean[:3, :3].ravel()))
    out.SetTranslation(tuple(mean[:3, 3]))
    return out


def fit_summary(scan_brain: np.ndarray, atlas_brain: np.ndarray, transform) -> dict[str, float]:  # noqa: ANN001
    """{"fit_dice_before", "fit_dice_after", "fit_scale"}: Dice of the scan's and the atlas'
    brain masks unfitted and fitted (``transform``), and the scan brain's mean linear size over
    the atlas' (the inverse of the fit's mean scale, which maps scan voxels to atlas voxels)."""
    fitted = warp_regions({"brain": atlas_brain}, transform)["brain"]
    scale = np.asarray(_scale_versor(transform).GetScale(), float)
    return {
        "fit_dice_before": dice(scan_brain, atlas_brain),
        "fit_dice_after": dice(scan_brain, fitted),
        "fit_scale": float(np.mean(1.0 / scale)),
    }


def _scale_versor(transform):  # noqa: ANN001, ANN202
    """The ScaleVersor3D inside the registration's output (a composite of one)."""
    import SimpleITK as sitk

    inner = transform
    if isinstance(transform, sitk.CompositeTransform):
        inner = transform.GetNthTransform(0)
    return sitk.ScaleVersor3DTransform(inner)
