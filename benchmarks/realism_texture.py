"""NAWM texture and noise rows of ``synth_realism.py``: how blotchy and how grainy the deep
normal-appearing WM is, how noisy and how sharp the scan is. Split from ``synth_realism.py``
to keep each script short; run that one.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from mslesion.synth.anatomy import MNI_AFFINE_1MM
from mslesion.synth.fields import masked_gaussian


def nawm_scales(img: np.ndarray, nawm: np.ndarray) -> dict[str, float]:
    """How blotchy and how coarse-grained the deep NAWM is, how much darker its front is.

    ``img`` in units of NAWM, (X, Y, Z) on the MNI 1 mm grid; ``nawm``: the NAWM mask (lesions
    left out with a margin). In the deep NAWM (``nawm`` eroded 2 more voxels), smoothed by a
    normalised convolution (NAWM voxels only): ``wm_band_1_2`` / ``wm_band_2_6`` /
    ``wm_band_6_15``, the robust spread (1.4826 x MAD) of what lies between Gaussian scales of
    1 and 2.5 mm / 2.5 and 6 mm / 6 and 15 mm (a grain, and mottling the eye sees as
    blotches); ``wm_front_back``, its median at MNI y +30..+60 mm over that at y -80..-50 mm,
    above z = 0 (the real 2D scans' frontal WM is much darker); ``grain_2mm``, how coarse its
    grain is: the correlation, between deep-NAWM voxels 2 mm apart along X, of what the 2.5 mm
    scale leaves (0 for a one-voxel grain; round 29: the synthetic grain was coarser than the
    real one, which the bands' spreads did not tell).
    """
    deep = ndimage.binary_erosion(nawm, iterations=2)
    smooth = {sigma: masked_gaussian(img, deep, sigma)[0] for sigma in (1.0, 2.5, 6.0, 15.0)}
    residual = img - smooth[2.5]
    pairs = deep[:-2] & deep[2:]

    y = MNI_AFFINE_1MM[1, 1] * np.arange(img.shape[1]) + MNI_AFFINE_1MM[1, 3]
    z = MNI_AFFINE_1MM[2, 2] * np.arange(img.shape[2]) + MNI_AFFINE_1MM[2, 3]
    upper = deep & (z > 0)[None, None, :]
    front = upper & ((y >= 30) & (y < 60))[None, :, None]
    back = upper & ((y >= -80) & (y < -50))[None, :, None]
    return {
        "wm_band_1_2": robust_spread((smooth[1.0] - smooth[2.5])[deep]),
        "wm_band_2_6": robust_spread((smooth[2.5] - smooth[6.0])[deep]),
        "wm_band_6_15": robust_spread((smooth[6.0] - smooth[15.0])[deep]),
        "grain_2mm": float(np.corrcoef(residual[:-2][pairs], residual[2:][pairs])[0, 1])
        if pairs.sum() > 2
        else np.nan,
        "wm_front_back": float(np.median(img[front]) / np.median(img[back])),
    }


def robust_spread(values: np.ndarray) -> float:
    """1.4826 x the median absolute deviation: the std of the Gaussian part, outliers aside."""
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def sharpness(img: np.ndarray, brain: np.ndarray, nawm: np.ndarray) -> dict[str, float]:
    """How crisp and how noisy a scan looks (``img`` in units of NAWM, (X, Y, Z) at 1 mm).

    ``noise_hf``: std in NAWM of what a 1 mm Gaussian removes (noise and fine grain);
    ``noise_mad``: its robust spread (1.4826 x median absolute deviation) in the deep NAWM
    (eroded 3 voxels): the noise itself, which sharp anatomy inflates ``noise_hf`` beyond in
    the real 3D scans (0.11-0.15 there, half of it edges and vessels);
    ``noise_corr``: correlation of that residual between neighbouring voxels (0 for white
    noise; the interpolation of a registration raises it); ``edge_p90``: 90th percentile of
    the gradient magnitude (per mm) inside the brain (eroded 3 mm): how sharp tissue edges are;
    ``csf_edge_share``: share of that inner brain within 1 voxel of a CSF-dark voxel (< 0.5 x
    NAWM): how much open sulcal and ventricular CSF the eye meets; ``edge_csf_p90``: the
    90th percentile gradient of those voxels only: how steep the step from CSF to tissue is,
    apart from how much of it there is (the real 3D scans' steepest edges nearly all lie there,
    and ``edge_p90`` mixes the two; added after round 31). Through the slices:
    ``noise_corr_z`` is ``noise_corr`` between neighbours along Z, ``edge_z_x`` the 90th
    percentile of the Z gradient over that of the X gradient (2D acquisitions with thick axial
    slices, resampled to 1 mm, are smooth along Z: high ``noise_corr_z``, ``edge_z_x`` < 1);
    ``edge_y_x`` the same along Y (A-P) over along X, < 1 where a scanner resolved its
    phase-encoding direction more coarsely than its readout.
    """
    residual = img - ndimage.gaussian_filter(img, 1.0)

    def neighbour_corr(axis: int) -> float:
        pairs = nawm & np.roll(nawm, 1, axis=axis)
        shifted = np.roll(residual, 1, axis=axis)
        return float(np.corrcoef(residual[pairs], shifted[pairs])[0, 1])

    grads = np.gradient(img)
    grad = np.sqrt(sum(g * g for g in grads))
    inner = ndimage.binary_erosion(brain, iterations=3)
    steepest = [float(np.percentile(np.abs(g[inner]), 90)) for g in grads]
    deep = residual[ndimage.binary_erosion(nawm, iterations=3)]
    by_csf = inner & (ndimage.minimum_filter(img, 3) < 0.5)
    return {
        "noise_hf": float(residual[nawm].std()),
        "noise_mad": robust_spread(deep),
        "noise_corr": neighbour_corr(0),
        "noise_corr_z": neighbour_corr(2),
        "edge_p90": float(np.percentile(grad[inner], 90)),
        "edge_z_x": steepest[2] / steepest[0],
        "edge_y_x": steepest[1] / steepest[0],
        "csf_edge_share": float(by_csf[inner].mean()),
        "edge_csf_p90": float(np.percentile(grad[by_csf], 90)) if by_csf.any() else np.nan,
    }
