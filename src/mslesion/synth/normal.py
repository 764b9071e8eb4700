"""Normal FLAIR-bright anatomy: mild hyperintensities that are NOT lesions (hard negatives).

Real FLAIR shows several normal structures a little brighter than the surrounding white matter:
the brainstem tegmentum (pons, midbrain) and the cerebral peduncles, the septum pellucidum and
fornix between the lateral ventricles, the insular cortex with the claustrum / extreme and
external capsules. A model trained on images without them learns "brighter than WM = lesion"
and marks them on real scans (issue #9, a low-load patient). The template carries a weight map
of these structures (:func:`bright_anatomy`, [0, 1]); each sample brightens them by a random
gain (``flair.Contrast.bright_gain``), capped at ``flair.TISSUE_MAX`` so they always stay below
the lesion cores (>= ``lesions.MIN_LESION_CONTRAST`` x WM) and outside the truth mask.

Shapes are hand-written in MNI mm (like the corticospinal-tract polyline in ``anatomy.py``)
and intersected with the template's own tissue maps; no offline atlas ships these structures.

The basal cisterns (:func:`fill_cisterns`) are here too: not bright, but normal anatomy the
average template left out of the brain, as the septum (:func:`add_septum`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: Brainstem tegmentum centre line (x = 0; y, z in MNI mm): midbrain tegmentum in front of the
#: aqueduct, pontine tegmentum under the floor of the fourth ventricle, down to the medulla.
_TEGMENTUM_MM = np.array(
    [(0, -24, -2), (0, -27, -12), (0, -31, -22), (0, -35, -32), (0, -39, -46)], np.float64
)
#: Whole-brainstem centre line (midbrain, pons, medulla): the basis is a little bright too.
_BRAINSTEM_MM = np.array([(0, -21, -4), (0, -23, -16), (0, -27, -30), (0, -36, -46)], np.float64)
#: Cerebral peduncle centre line (|x|, y, z in MNI mm), from the crus down into the pons.
_PEDUNCLE_MM = np.array([(14, -13, -6), (11, -17, -13), (8, -21, -21)], np.float64)


def mm_grid(shape: tuple[int, int, int], affine: np.ndarray) -> tuple[np.ndarray, ...]:
    """World coordinates (x, y, z) in mm, float32, broadcastable to ``shape`` (diagonal affine)."""
    axes = [np.arange(s, dtype=np.float32) for s in shape]
    x = (affine[0, 0] * axes[0] + affine[0, 3]).astype(np.float32)[:, None, None]
    y = (affine[1, 1] * axes[1] + affine[1, 3]).astype(np.float32)[None, :, None]
    z = (affine[2, 2] * axes[2] + affine[2, 3]).astype(np.float32)[None, None, :]
    return x, y, z


def polyline_tube(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    line: np.ndarray,
    sigma_x_mm: float,
    sigma_y_mm: float,
    fade_mm: float = 3.0,
) -> np.ndarray:
    """Gaussian tube (peak 1) around a polyline given as (|x|, y, z) mm points (any order).

    The centre is interpolated at each voxel's height (the structures run mostly vertically);
    ``sigma_x_mm`` / ``sigma_y_mm`` are its left-right / front-back widths; past the ends it
    fades as a Gaussian of sigma ``fade_mm``. Shared by the bright anatomy here and the
    corticospinal tracts of the template's NAWM pattern.
    """
    order = np.argsort(line[:, 2])
    cz, cx, cy = line[order, 2], line[order, 0], line[order, 1]
    zc = np.clip(z, cz[0], cz[-1])
    tx = np.interp(zc, cz, cx).astype(np.float32)
    ty = np.interp(zc, cz, cy).astype(np.float32)
    beyond = np.maximum(np.maximum(cz[0] - z, z - cz[-1]), 0.0) / fade_mm
    d2 = ((np.abs(x) - tx) / sigma_x_mm) ** 2 + ((y - ty) / sigma_y_mm) ** 2 + beyond**2
    return np.exp(-0.5 * d2).astype(np.float32)


def _insular_complex(
    gm: np.ndarray, wm: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray
) -> np.ndarray:
    """Float32 [0, 1]: insular cortex plus the claustrum / external-capsule strip beside it.

    Found on the template's own maps (not a fixed box, so it follows the template's insula):
    within the insular box (|x| 26-44 mm, y -24..+22 mm, z -8..+20 mm) the WM-ish voxels that
    have grey matter both medially within 7 mm (putamen) and laterally within 6 mm (insular
    cortex) are the capsule strip (the 1 mm-thin claustrum lies inside it); the GM within 5 mm
    lateral of that strip is the insular cortex. Assumes a 1 mm grid with x along axis 0.
    """
    box = (np.abs(x) >= 26) & (np.abs(x) <= 44) & (y >= -24) & (y <= 22) & (z >= -8) & (z <= 20)
    box = np.broadcast_to(box, gm.shape)
    grey = gm > 0.5
    # "lateral" is towards larger |x|: +x (smaller index) on the left hemisphere (x > 0)
    left = np.broadcast_to(x > 0, gm.shape)

    def near(mask: np.ndarray, lateral: bool, reach: int) -> np.ndarray:
        out = np.zeros_like(mask)
        for s in range(1, reach + 1):
            towards_small = np.zeros_like(mask)  # mask at index i - s (larger x)
            towards_small[s:] = mask[:-s]
            towards_large = np.zeros_like(mask)  # mask at index i + s (smaller x)
            towards_large[:-s] = mask[s:]
            # on the left, the lateral neighbour has the smaller index (larger x)
            lat = np.where(left, towards_small, towards_large)
            med = np.where(left, towards_large, towards_small)
            out |= lat if lateral else med
        return out

    capsule = box & (wm > 0.3) & near(grey, lateral=False, reach=7) & near(grey, True, 6)
    insula = box & grey & near(capsule, lateral=False, reach=5)
    return np.maximum(capsule.astype(np.float32), 0.8 * insula.astype(np.float32))


def _septal_region(
    vent_dist: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray
) -> np.ndarray:
    """Bool (X, Y, Z): the midline between the lateral ventricles (|x| <= 2 mm, y -16..+26 mm,
    z 0..+24 mm, within 3 mm of the ventricles), where the septum pellucidum and fornix are."""
    box = (np.abs(x) <= 2) & (y >= -16) & (y <= 26) & (z >= 0) & (z <= 24)
    return box & (vent_dist <= 3.0)


def add_septum(
    gm: np.ndarray, wm: np.ndarray, csf: np.ndarray, vent_dist: np.ndarray, affine: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Restore the septum pellucidum as a ~2 mm tissue sheet; returns (gm, csf), float32.

    The template keeps it as one voxel of ~0.5 GM with no CSF around it, which falls out of
    the brain mask and renders as a dark gap between the frontal horns; in real FLAIR it is a
    thin grey (often slightly bright) membrane. GM 0.95 on the midline, 0.4 at 1 mm; the rest
    of each septal voxel is CSF (the ventricles), so GM + WM + CSF = 1 there.
    """
    x, y, z = mm_grid(gm.shape, affine)  # type: ignore[arg-type]
    region = _septal_region(vent_dist, x, y, z) & (gm + csf > 0.3) & (wm < 0.3)
    sheet = np.clip(0.95 - 0.55 * np.abs(x), 0.0, 0.95) * (np.abs(x) <= 1.0)
    gm = np.where(region, np.minimum(np.maximum(gm, sheet), 1.0 - wm), gm)
    csf = np.where(region, np.clip(1.0 - gm - wm, 0.0, 1.0), csf)
    return gm.astype(np.float32), csf.astype(np.float32)


def bright_anatomy(
    gm: np.ndarray, wm: np.ndarray, vent_dist: np.ndarray, affine: np.ndarray
) -> np.ndarray:
    """Float32 [0, 1] (X, Y, Z) weight of normal FLAIR-bright structures on the 1 mm template.

    1 = fully brightened by the sample's ``bright_gain``: the brainstem tegmentum (Gaussian
    tube, sigma 6 mm left-right, 4 mm front-back) over the whole brainstem at 0.45 (9 / 7 mm),
    the cerebral peduncles (x 0.7, 3 mm), the septum pellucidum / fornix (a 1.5 mm midline
    sheet in :func:`_septal_region`) and the insular complex (:func:`_insular_complex`).
    Weighted by the tissue fraction GM + WM (CSF stays dark) and smoothed by 1 mm so there are
    no hard edges.
    """
    x, y, z = mm_grid(gm.shape, affine)  # type: ignore[arg-type]
    stem = polyline_tube(x, y, z, _TEGMENTUM_MM, 6.0, 4.0)
    stem = np.maximum(stem, 0.45 * polyline_tube(x, y, z, _BRAINSTEM_MM, 9.0, 7.0))
    stem = np.maximum(stem, 0.7 * polyline_tube(x, y, z, _PEDUNCLE_MM, 3.0, 3.0))
    septum = np.exp(-0.5 * (x / 1.5) ** 2) * _septal_region(vent_dist, x, y, z)
    weight = np.maximum(stem, septum)
    weight = np.maximum(weight, _insular_complex(gm, wm, x, y, z))
    weight *= np.clip(gm + wm, 0.0, 1.0)
    return np.clip(ndimage.gaussian_filter(weight.astype(np.float32), 1.0), 0.0, 1.0)


def axial_holes(mask: np.ndarray) -> np.ndarray:
    """Bool (X, Y, Z): what each axial slice of the bool ``mask`` encloses but leaves out."""
    holes = np.zeros_like(mask, dtype=bool)
    for k in range(mask.shape[2]):
        holes[:, :, k] = ndimage.binary_fill_holes(mask[:, :, k]) & ~mask[:, :, k]
    return holes


#: Tissue (GM) share of the basal cisterns' fill, (mean, std, max) of a smooth field: vessels,
#: cranial nerves and partial volume. Real FLAIR reads the cisterns at 0.38-0.59 x NAWM (median
#: per scan, the 4 MSLesSeg scans, where the template's brain mask has its holes), brighter than
#: the ventricles (0.13-0.37) and spread from 0.2 to 1.0 (10th-90th percentile). On 6
#: synthetic cases (same region, round 17's GM levels) a mean of 0.25 read 0.24-0.37, 0.5
#: read 0.34-0.61; with round 18's GM levels the benchmark's ``cisterns`` row reads 0.33-0.57.
CISTERN_TISSUE = (0.5, 0.15, 0.8)
#: Seed of the cisterns' fixed tissue field (the template is one fixed brain).
CISTERN_SEED = 2024


def fill_cisterns(gm: np.ndarray, wm: np.ndarray, csf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill the holes of the brain mask (GM + WM + CSF > 0.5) with CSF and some tissue; returns
    (gm, csf), float32 (X, Y, Z).

    The average template leaves the basal cisterns (suprasellar, interpeduncular: ~6,000 voxels
    of holes in its axial slices at MNI z -28..-17 mm) out of the brain, so every synthetic case
    had black gaps between the temporal lobes and the brainstem where skull-stripped real scans
    keep dark grey CSF (the 4 MSLesSeg masks cover 97-98 % of these holes). Filled are the holes
    of each axial slice (which hold the 3D mask's holes too); GM takes a smooth share
    ``CISTERN_TISSUE`` of each filled voxel, CSF the rest.
    """
    holes = axial_holes((gm + wm + csf) > 0.5)
    mean, std, top = CISTERN_TISSUE
    field = ndimage.gaussian_filter(
        np.random.default_rng(CISTERN_SEED).standard_normal(gm.shape).astype(np.float32), 1.5
    )
    field *= std / max(float(field.std()), 1e-6)
    share = np.clip(mean + field, 0.0, top) * (1.0 - wm)
    gm = np.where(holes, np.maximum(gm, share), gm)
    csf = np.where(holes, np.clip(1.0 - gm - wm, 0.0, 1.0), csf)
    return gm.astype(np.float32), csf.astype(np.float32)
