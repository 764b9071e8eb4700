"""Intensity normalisation, the two ways the seed methods use, and N4 bias correction.

All functions are pure: numpy arrays in, new arrays out. ``brain_mask`` arguments are boolean
arrays of the same shape; where omitted, the non-zero voxels are taken as the brain (scans
here are usually skull-stripped with a zero background).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class IntensityRecord:
    """What a normalisation did, to repeat or undo it: ``x_norm = (x - offset) / scale``."""

    method: str
    offset: float
    scale: float
    clip_low: float
    clip_high: float

    def invert(self, normalized: np.ndarray) -> np.ndarray:
        """Back to the (clipped) original intensity scale."""
        return normalized * self.scale + self.offset


def default_brain_mask(volume: np.ndarray) -> np.ndarray:
    """Non-zero voxels, or everything when the volume has no zero background."""
    mask = volume != 0
    return mask if mask.any() else np.ones_like(volume, dtype=bool)


def _clip_bounds(
    volume: np.ndarray, mask: np.ndarray, percentiles: tuple[float, float]
) -> tuple[float, float]:
    values = volume[mask]
    if values.size == 0:
        raise ValueError("brain mask is empty: cannot normalise intensities")
    low, high = np.percentile(values, percentiles)
    if high <= low:  # constant brain: avoid dividing by zero downstream
        high = low + 1.0
    return float(low), float(high)


def minmax_normalize(
    volume: np.ndarray,
    brain_mask: np.ndarray | None = None,
    percentiles: tuple[float, float] = (0.5, 99.5),
) -> tuple[np.ndarray, IntensityRecord]:
    """F.sh: clip to brain percentiles, then scale to [0, 1]. Outside the brain becomes 0.

    Returns (float32 array of the input's shape, record).
    """
    mask = default_brain_mask(volume) if brain_mask is None else brain_mask.astype(bool)
    low, high = _clip_bounds(volume, mask, percentiles)
    # The outer clip guards against float rounding putting the top voxel at 1.0000001.
    out = np.clip((np.clip(volume, low, high) - low) / (high - low), 0.0, 1.0)
    out[~mask] = 0.0
    return out.astype(np.float32), IntensityRecord("minmax", low, high - low, low, high)


def zscore_normalize(
    volume: np.ndarray,
    brain_mask: np.ndarray | None = None,
    percentiles: tuple[float, float] = (0.5, 99.5),
) -> tuple[np.ndarray, IntensityRecord]:
    """SynergyNet: clip to brain percentiles, then zero mean / unit std inside the brain.

    Voxels outside the brain are set to 0 (the brain mean). Returns (float32 array, record).
    """
    mask = default_brain_mask(volume) if brain_mask is None else brain_mask.astype(bool)
    low, high = _clip_bounds(volume, mask, percentiles)
    clipped = np.clip(volume, low, high)
    values = clipped[mask]
    mean, std = float(values.mean()), float(values.std())
    std = std if std > 1e-8 else 1.0
    out = (clipped - mean) / std
    out[~mask] = 0.0
    return out.astype(np.float32), IntensityRecord("zscore", mean, std, low, high)


def normalize(
    volume: np.ndarray,
    method: str,
    brain_mask: np.ndarray | None = None,
    percentiles: tuple[float, float] = (0.5, 99.5),
) -> tuple[np.ndarray, IntensityRecord]:
    """Dispatch on ``method`` in {"minmax", "zscore"}."""
    if method == "minmax":
        return minmax_normalize(volume, brain_mask, percentiles)
    if method == "zscore":
        return zscore_normalize(volume, brain_mask, percentiles)
    raise ValueError(f"unknown intensity normalisation {method!r} (use 'minmax' or 'zscore')")


def n4_bias_correct(
    volume: np.ndarray,
    spacing: tuple[float, float, float],
    brain_mask: np.ndarray | None = None,
    shrink_factor: int = 4,
    iterations: tuple[int, ...] = (50, 50, 30),
) -> np.ndarray:
    """N4 bias-field correction with SimpleITK, fitted on a shrunken copy for speed.

    ``volume`` is (X, Y, Z) in voxel order; ``spacing`` in mm along those axes. Returns the
    corrected float32 volume (full resolution: the fitted log bias field is applied).
    """
    import SimpleITK as sitk

    # SimpleITK arrays are (Z, Y, X): transpose in and out.
    image = sitk.GetImageFromArray(
        np.ascontiguousarray(volume.transpose(2, 1, 0), dtype=np.float32)
    )
    image.SetSpacing(tuple(float(s) for s in spacing))
    mask = default_brain_mask(volume) if brain_mask is None else brain_mask.astype(bool)
    mask_img = sitk.GetImageFromArray(np.ascontiguousarray(mask.transpose(2, 1, 0), dtype=np.uint8))
    mask_img.CopyInformation(image)
    small = sitk.Shrink(image, [shrink_factor] * 3)
    small_mask = sitk.Shrink(mask_img, [shrink_factor] * 3)
    corrector = sitk.N4BiasFieldCorrectionImageFilter()
    corrector.SetMaximumNumberOfIterations(list(iterations))
    corrector.Execute(small, small_mask)
    log_bias = corrector.GetLogBiasFieldAsImage(image)
    corrected = image / sitk.Exp(log_bias)
    out = sitk.GetArrayFromImage(corrected).transpose(2, 1, 0).astype(np.float32)
    out[~mask] = volume[~mask]
    return out
