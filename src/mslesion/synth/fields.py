"""Random smooth fields and the per-sample spatial deformation.

Smooth fields are drawn on a coarse lattice and upsampled trilinearly (:func:`upsample_linear`,
one matrix product per axis, no per-voxel Python), which is what keeps a 1 mm sample under a
few seconds on one core.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch
import torch.nn.functional as F


def _linear_weights(n_out: int, n_in: int) -> np.ndarray:
    """(n_out, n_in) float32 matrix of 1-D linear interpolation, corners aligned (output 0 and
    n_out - 1 sit on lattice points 0 and n_in - 1, as torch's ``align_corners=True``)."""
    x = np.arange(n_out, dtype=np.float64) * ((n_in - 1) / max(n_out - 1, 1))
    low = np.minimum(x.astype(np.int64), max(n_in - 2, 0))
    frac = x - low
    weights = np.zeros((n_out, n_in), np.float32)
    rows = np.arange(n_out)
    weights[rows, low] = 1.0 - frac
    if n_in > 1:
        weights[rows, low + 1] += frac
    return weights


def upsample_linear(lattice: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Trilinear upsampling of a lattice (..., Lx, Ly, Lz) to (..., X, Y, Z), corners aligned.

    Separable: one small matrix product per axis, the smallest axis work first and the full
    volume touched once. Torch's ``upsample_trilinear3d`` gives the same values (to ~1e-5) but
    took 3-9x as long at 1 mm on one core (0.06-0.1 s per field, ~0.8 s of a high-load case's
    smooth fields and lesion crops together).
    """
    x, y, z = (max(int(s), 1) for s in shape)
    lead = lattice.shape[:-3]
    lx, ly, lz = lattice.shape[-3:]
    out = np.asarray(lattice, np.float32) @ _linear_weights(z, lz).T  # (..., Lx, Ly, Z)
    out = _linear_weights(y, ly) @ out  # (..., Lx, Y, Z)
    out = _linear_weights(x, lx) @ out.reshape(*lead, lx, y * z)  # (..., X, Y * Z)
    return out.reshape(*lead, x, y, z)


def limit_blas_threads() -> None:
    """One BLAS thread in this process (for worker processes: synth writers, DataLoader
    workers). :func:`upsample_linear`'s matrix products would otherwise each start the BLAS
    library's own thread pool in every worker, as many threads as cores per worker."""
    one_blas_thread()  # (the limit applies when made; not used as a context, it stays)


def one_blas_thread() -> contextlib.AbstractContextManager[object]:
    """Context: one BLAS thread inside it (the previous limits restored after). Results of
    :func:`upsample_linear` then do not depend on the machine's or the caller's thread count."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")


def smooth_field(
    shape: tuple[int, int, int], cell_vox: float, rng: np.random.Generator, channels: int = 1
) -> np.ndarray:
    """Gaussian random field with unit-ish std and correlation length ~``cell_vox`` voxels.

    Returns float32 (channels, X, Y, Z) (the leading axis is kept even when ``channels`` is 1).
    """
    coarse = tuple(max(2, int(math.ceil(s / max(cell_vox, 1e-3))) + 1) for s in shape)
    return upsample_linear(rng.standard_normal((channels, *coarse), dtype=np.float32), shape)


def _rotation(angles_rad: np.ndarray) -> np.ndarray:
    ax, ay, az = angles_rad
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


#: Range of the ventricle enlargement (the sampling pulls towards the ventricles' centre by
#: this share, fading as a Gaussian of ``VENTRICLE_REACH_MM`` (x, y, z) sigma). Round 11: from
#: 0-0.35 and 22 mm round, whose ventricles were smaller than most real MS ones (CSF-dark share
#: of the atlas' ventricle region 0.18-0.26 vs 0.10-0.52, median 0.35; a one-off script).
VENTRICLE_ENLARGEMENT, VENTRICLE_REACH_MM = (0.25, 0.6), (22.0, 36.0, 22.0)
LATTICE_MM = 4.0  # the deformation is smooth at this scale, so it is computed on a coarse lattice


class SamplingGrid:
    """Where each output voxel samples the template, held as torch's normalised grid.

    ``grid`` is float32 (1, X, Y, Z, 3) in ``grid_sample`` convention (last axis = (z, y, x)
    array axes, each scaled to [-1, 1]). Indexing ``sampling[key]`` (any numpy index over the
    first three axes) returns template voxel coordinates (..., 3) in (x, y, z) index units.
    """

    def __init__(self, grid: torch.Tensor, template_shape: tuple[int, int, int]) -> None:
        self.grid = grid
        self.shape = tuple(int(s) for s in grid.shape[1:4])
        self._half = np.array([(s - 1) / 2.0 for s in template_shape], dtype=np.float32)
        self.numpy = grid[0].numpy()  # (X, Y, Z, 3) view of ``grid``, (z, y, x) in [-1, 1]

    def __getitem__(self, key: object) -> np.ndarray:
        g = self.numpy[key]  # type: ignore[index]
        return (g[..., ::-1] + 1.0) * self._half


def random_sampling_grid(
    shape: tuple[int, int, int],
    voxel_size_mm: float,
    rng: np.random.Generator,
    ventricle_centre: np.ndarray,
    enabled: bool = True,
    hemisphere_shear: tuple[float, np.ndarray] | None = None,
    brain_scale: float = 1.0,
    bend_rng: np.random.Generator | None = None,
) -> SamplingGrid:
    """Draw one random deformation of the template grid (output grid = template grid shape).

    Composes a small rotation (<= 6 deg per axis), anisotropic scaling (0.92-1.08), a smooth
    elastic displacement (std ~2 mm, correlation ~30 mm) and ventricle enlargement (points near
    the ventricles sample closer to their centre, so the ventricles widen:
    ``VENTRICLE_ENLARGEMENT``). All of it is evaluated on a lattice every ``LATTICE_MM`` mm
    and upsampled trilinearly (exact for the affine part), which is ~10x cheaper than
    evaluating it per voxel.

    ``brain_scale`` shrinks the whole brain about the grid's centre on top of that (a rigidly
    registered scan keeps its brain's own size: ``acquisition.place_brain``). Not ``enabled``:
    the identity, the template as it is (no shrink either).

    ``hemisphere_shear`` = (x index of the midline, weight (Y, Z) float32 in [0, 1]) slides
    the two hemispheres against each other along the falx, by a smooth random y/z offset
    (:func:`hemisphere_offsets`) where the weight is 1 (medial cortex facing the fissure) and
    not at all where it is 0 (structures that cross the midline). With ``bend_rng`` too, the
    midline bends sideways as well (:func:`midline_bend_offsets`, drawn from that stream).
    """
    step = max(1.0, LATTICE_MM / voxel_size_mm)
    coarse = tuple(max(2, int(math.ceil((s - 1) / step)) + 1) for s in shape)
    axes = [np.linspace(0, s - 1, c, dtype=np.float32) for s, c in zip(shape, coarse, strict=True)]
    pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    if enabled:
        centre = (np.asarray(shape, np.float32) - 1) / 2
        rot = _rotation(np.deg2rad(rng.uniform(-6, 6, size=3)))
        scale = rng.uniform(0.92, 1.08, size=3) * np.float32(brain_scale)
        matrix = (rot / scale[None, :]).astype(
            np.float32
        )  # sampling matrix = inverse of the forward scaling
        coords = (pts - centre) @ matrix.T + centre
        cell = 30.0 / voxel_size_mm / step  # elastic correlation length, in lattice cells
        elastic = smooth_field(coarse, cell, rng, channels=3) * np.float32(2.0 / voxel_size_mm)
        coords += np.moveaxis(elastic, 0, -1)
        enlarge = np.float32(rng.uniform(*VENTRICLE_ENLARGEMENT))
        # (x, y, z) reach of the enlargement: the lateral ventricles run ~80 mm front to back
        sigma = np.array(VENTRICLE_REACH_MM, np.float32) / np.float32(voxel_size_mm)
        rel = coords - ventricle_centre.astype(np.float32)
        weight = np.exp(-((rel / sigma) ** 2).sum(-1, keepdims=True) / np.float32(2))
        # they widen (x, z) more than they lengthen (y)
        coords -= enlarge * rel * weight * np.array([1.0, 0.5, 1.0], np.float32)
        if hemisphere_shear is not None:
            # (the midline's weight is read where the shrink puts each lattice point, so what
            # crosses the midline stays whole in a smaller brain)
            shrunk = centre + (pts - centre) / np.float32(brain_scale) if brain_scale != 1 else pts
            coords += hemisphere_offsets(shrunk, voxel_size_mm, step, *hemisphere_shear, rng)
            if bend_rng is not None:
                midline_x = hemisphere_shear[0]
                coords += midline_bend_offsets(shrunk, voxel_size_mm, step, midline_x, bend_rng)
    else:
        coords = pts
    half = (np.asarray(shape, np.float32) - 1) / 2
    norm = (coords / half - 1.0)[..., ::-1].copy()  # -> grid_sample's (z, y, x) order in [-1, 1]
    full = upsample_linear(np.moveaxis(norm, -1, 0), shape)  # (3, X, Y, Z)
    grid = np.ascontiguousarray(np.moveaxis(full, 0, -1))[None]
    return SamplingGrid(torch.from_numpy(grid), shape)


#: Std (mm) of the offset each hemisphere slides by along the falx, and its correlation (mm).
HEMISPHERE_SHIFT_MM = (2.5, 25.0)


def hemisphere_offsets(
    pts: np.ndarray,
    voxel_size_mm: float,
    step: float,
    midline_x: float,
    weight_yz: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sampling offsets (..., 3) float32, voxels, at lattice points ``pts`` (..., 3) (template
    voxel coordinates, ``step`` voxels apart): +d(y, z) right of the midline, -d(y, z) left of
    it, d a smooth random (y, z) offset (``HEMISPHERE_SHIFT_MM``), times ``weight_yz`` there.

    The template is an average of 152 brains and close to mirror-symmetric: the sulci of the
    two medial surfaces met at the same places, and where they open into the fissure they drew
    crosses. A real brain's hemispheres are not mirror images; sliding them by a few mm along
    the midline (which the falx separates, so nothing there is torn) breaks that symmetry.
    The switch across the midline takes one lattice cell (~4 mm).
    """
    std_mm, corr_mm = HEMISPHERE_SHIFT_MM
    # (2, 1, Y, Z): one offset per (y, z), the same through each hemisphere's depth
    shift = smooth_field((1, *pts.shape[1:3]), corr_mm / voxel_size_mm / step, rng, channels=2)
    shift *= np.float32(std_mm / voxel_size_mm)
    # +-1 beyond ~1 mm of the midline: a sign, soft only at a lattice point on the midline itself
    side = np.tanh((pts[..., 0] - np.float32(midline_x)) * np.float32(voxel_size_mm))
    yz = np.clip(np.rint(pts[0, :, :, 1:]).astype(np.int64), 0, np.array(weight_yz.shape) - 1)
    side *= weight_yz[yz[..., 0], yz[..., 1]][None]
    out = np.zeros(pts.shape, np.float32)
    out[..., 1:] = np.moveaxis(shift, 0, -1) * side[..., None]
    return out


#: Std (mm) of the midline's sideways bend, its correlation along the midline (mm) and the
#: Gaussian sigma (mm) of its fade away from the midline (:func:`midline_bend_offsets`).
MIDLINE_BEND_MM = (1.2, 12.0, 25.0)


def midline_bend_offsets(
    pts: np.ndarray,
    voxel_size_mm: float,
    step: float,
    midline_x: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sampling offsets (..., 3) float32, voxels, at lattice points ``pts`` (..., 3) (template
    voxel coordinates, ``step`` voxels apart): along X only, b(y, z) exp(-dx^2 / 2 s^2), b a
    smooth random (y, z) offset and dx the distance from the midline (``MIDLINE_BEND_MM``).

    The elastic displacement (correlation ~30 mm) leaves the interhemispheric fissure
    ruler-straight over a 32 mm patch, where a real one bends and jogs round the gyri that
    bulge into it: in the real 3D scans' axial and coronal views the fissure drifts about
    1-3 mm sideways within 30 mm (by eye, round 36's crops), and the machine observer's
    surest synthetic patches were 3D midline patches with a straight dark line through them
    (``benchmarks/realism_observer.py``). Both hemispheres move together, so nothing at the
    midline is torn; the bend fades within a few cm, so the lateral cortex hardly moves.
    """
    std_mm, corr_mm, fade_mm = MIDLINE_BEND_MM
    bend = smooth_field((1, *pts.shape[1:3]), corr_mm / voxel_size_mm / step, rng)[0]
    bend *= np.float32(std_mm / voxel_size_mm)
    dx = (pts[..., 0] - np.float32(midline_x)) * np.float32(voxel_size_mm / fade_mm)
    out = np.zeros(pts.shape, np.float32)
    out[..., 0] = bend * np.exp(-0.5 * dx * dx)
    return out


def warp_linear(volume: np.ndarray, sampling: SamplingGrid) -> np.ndarray:
    """Trilinear sample of one (X, Y, Z) template volume (torch ``grid_sample``), 0 outside."""
    src = torch.from_numpy(np.ascontiguousarray(volume, dtype=np.float32))[None, None]
    return F.grid_sample(
        src, sampling.grid, mode="bilinear", padding_mode="zeros", align_corners=True
    )[0, 0].numpy()


def warp_nearest(labels: np.ndarray, sampling: SamplingGrid) -> np.ndarray:
    """Nearest-neighbour sample of a label volume (X, Y, Z), 0 outside.

    A numpy gather with int32 indices: ``grid_sample(mode="nearest")`` costs as much as
    trilinear per channel, and the same gather in torch with int64 indices took 0.8 s per 1 mm
    case on one core (now ~0.25 s).
    """
    shape = labels.shape
    index_type = np.int32 if labels.size < 2**31 else np.int64
    flat: np.ndarray | None = None
    inside: np.ndarray | None = None
    for axis in range(3):
        scale = np.float32((shape[axis] - 1) / 2.0)
        idx = np.rint((sampling.numpy[..., 2 - axis] + np.float32(1.0)) * scale).astype(index_type)
        ok = (idx >= 0) & (idx < shape[axis])
        inside = ok if inside is None else np.logical_and(inside, ok, out=inside)
        np.clip(idx, 0, shape[axis] - 1, out=idx)
        flat = idx if flat is None else flat * index_type(shape[axis]) + idx
    out = np.take(np.ascontiguousarray(labels).reshape(-1), flat)
    out[~inside] = 0
    return out


def lookup(volume: np.ndarray, coords: np.ndarray, order: int = 0) -> np.ndarray:
    """Values of ``volume`` at (..., 3) template-voxel positions (nearest or linear), 0 outside."""
    from scipy import ndimage

    pts = coords.reshape(-1, 3).T
    if order == 0:
        idx = np.rint(pts).astype(np.int64)
        inside = np.all((idx >= 0) & (idx < np.array(volume.shape)[:, None]), axis=0)
        out = np.zeros(idx.shape[1], dtype=volume.dtype)
        out[inside] = volume[tuple(idx[:, inside])]
    else:
        out = ndimage.map_coordinates(volume, pts, order=order, mode="constant", cval=0.0)
    return out.reshape(coords.shape[:-1])


#: Unsharp mask on a 3D case's warped anatomy (:func:`sharpen_inside`): amount and Gaussian
#: sigma (voxels). The anatomy is rendered on the template's grid and warped trilinearly,
#: which blurs it by ~0.4 voxel on average (each voxel read between eight others); a real 3D
#: scan is acquired at ~1 mm and resampled once, and its sulci go from CSF-dark straight to
#: bright cortex. The lesions are painted after the warp, at their own soft edges, so they are
#: left alone; the 2D cases are blurred by their slices anyway (their sulci's shoulders match
#: the real 2D scans': ``ribbon_1mm`` in ``benchmarks/synth_realism.py``). One voxel from a
#: dark voxel 4 3D cases read 0.86-0.92 x NAWM unsharpened, 0.87-0.96 with 0.35, 0.90-0.98
#: with 0.5, the real 3D scans 1.02-1.06; 0.5 also steepened the 3D cases' edges past the real
#: ones (``edge_p90`` 0.36 vs 0.33) and darkened their sulci (one-off script, round 24).
#: 1.2 since round 30, whose lower resolution along Y (``flair.PHASE_BLUR_3D_MM``) softened
#: the 3D cases' edges (edge_p90 0.252-0.272 at 0.35 in seeds 0, 4, 5, 7 vs 0.287-0.327
#: before, one-off scripts) and the shoulder next to a sulcus. The benchmark's 3D cases read
#: edge_p90 0.301 / 0.330, ribbon_1mm 0.875 / 0.901, ribbon_2mm 1.10 / 1.12 at 0.8 / 1.2, the
#: real 3D scans 0.330, 1.04, 1.11. (A narrower unsharp mask, 0.6-0.7 voxel, moved the edges
#: less at 1.2-1.6: the warp's blur sits on edges ~2 voxels wide.) 0.8 again since round 31,
#: whose sulci open into thin sheets of pure CSF (``atrophy.open_sulci``): their edges are steep
#: before any sharpening: at 1.2 (with a first try that opened them wider) the benchmark's 3D
#: cases read edge_p90 0.38, 0.33 now (real 0.33). 0.6 since round 35, whose smaller 3D brains
#: and lighter blur along Y (``flair.PHASE_BLUR_3D_MM``) steepened the edges: at 0.8 the 3D
#: seeds 0, 4, 5, 7 read edge_p90 0.390 (real 0.284 / 0.376), at 0.6 0.370 (one-off script).
SHARPEN_3D, SHARPEN_SIGMA_VOX = 0.6, 1.0
#: Round 32: a second unsharp pass on the voxels next to CSF only (``sharpen_csf_steps``). The
#: real 3D scans' tissue next to CSF has the same softest half of gradients as the 3D cases but
#: a longer steep tail (the gradient of the inner voxels within 1 voxel of CSF-dark, 75th / 90th
#: percentile: patient19 0.48 / 0.61, patient26 0.46 / 0.58, the 3D cases 0.39-0.42 /
#: 0.48-0.50; one-off script); a stronger global sharpening steepened every edge instead.
#: ``CSF_DARK_LEVEL``: CSF-dark below this share of the brain's median (before lesions and noise).
SHARPEN_CSF_3D, CSF_DARK_LEVEL = 1.2, 0.6


def sharpen_inside(
    img: np.ndarray, inside: np.ndarray, amount: float, sigma_vox: float
) -> np.ndarray:
    """Unsharp mask of ``img`` (X, Y, Z) float32 within the bool mask ``inside``:
    ``img + amount x (img - local mean)``, never below 0, the local mean a Gaussian of
    ``sigma_vox`` voxels over ``inside`` only (a normalised convolution), so the zeros outside
    do not brighten the edge voxels into a rim. Outside ``inside`` the image is returned
    unchanged."""
    local, _ = masked_gaussian(img, inside, sigma_vox, truncate=2.5)
    # the floor: a one-voxel line of CSF between two banks of cortex (the fissure, a closed
    # sulcus) undershot to -2.4 x WM after both 3D passes, and the acquisition's magnitude
    # (Rician noise) then turned that into a voxel as bright as WM or brighter, a white line
    # down the middle of the dark one (round 35: 5-7 % of the 3D cases' brain voxels were
    # negative before the noise)
    out = np.maximum(img + np.float32(amount) * (img - local), np.float32(0))
    return np.where(inside, out, img).astype(np.float32, copy=False)


def sharpen_csf_steps(
    img: np.ndarray, inside: np.ndarray, amount: float, sigma_vox: float
) -> np.ndarray:
    """:func:`sharpen_inside` by ``amount`` on the voxels within one voxel of a CSF-dark one
    (darker than :data:`CSF_DARK_LEVEL` x the median of ``inside``), the dark ones included:
    the step between a sulcus and its cortex steepens, the rest of the brain stays as it is."""
    from scipy import ndimage

    dark = inside & (img < np.float32(CSF_DARK_LEVEL) * np.median(img[inside]))
    near = ndimage.binary_dilation(dark) & inside
    return np.where(near, sharpen_inside(img, inside, amount, sigma_vox), img)


def masked_gaussian(
    img: np.ndarray, inside: np.ndarray, sigma_vox: float, truncate: float = 4.0
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian mean of ``img`` (X, Y, Z) over the voxels of the bool mask ``inside`` only (a
    normalised convolution), and the Gaussian weight of ``inside`` itself (float32, in [0, 1]):
    where that weight is ~0 no ``inside`` voxel is near and the mean is 0."""
    from scipy import ndimage

    weight = inside.astype(np.float32)
    total = ndimage.gaussian_filter(weight, sigma_vox, truncate=truncate)
    mean = ndimage.gaussian_filter(
        np.where(inside, img, 0).astype(np.float32), sigma_vox, truncate=truncate
    )
    mean /= np.maximum(total, np.float32(1e-3))
    return mean, total
