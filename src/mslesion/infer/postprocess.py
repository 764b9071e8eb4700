"""Probability map -> lesion mask: threshold, drop tiny components, fill enclosed holes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from mslesion.metrics.lesion import label_lesions, min_size_voxels

__all__ = [
    "PostprocessConfig",
    "binarize",
    "fill_lesion_holes",
    "min_size_voxels",
    "remove_small_lesions",
]


@dataclass(frozen=True)
class PostprocessConfig:
    """``min_lesion_size_mm3`` is a volume (mm³), converted to voxels per scan; 26-connectivity
    matches :func:`mslesion.metrics.lesion.label_lesions`."""

    threshold: float = 0.5
    min_lesion_size_mm3: float = 0.0
    fill_holes: bool = True
    connectivity: int = 26


def remove_small_lesions(mask: np.ndarray, min_voxels: int, connectivity: int = 26) -> np.ndarray:
    """Drop connected components of fewer than ``min_voxels`` voxels; uint8 (X, Y, Z).

    Components are those of :func:`mslesion.metrics.lesion.label_lesions`.
    """
    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    if min_voxels <= 1:
        return mask
    labels, _ = label_lesions(mask, connectivity, min_voxels)
    return (labels > 0).astype(np.uint8)


def fill_lesion_holes(mask: np.ndarray) -> np.ndarray:
    """Fill cavities fully enclosed by lesion voxels (3D), uint8."""
    return ndimage.binary_fill_holes(mask > 0).astype(np.uint8)


def binarize(
    prob: np.ndarray, voxel_volume_mm3: float, config: PostprocessConfig = PostprocessConfig()
) -> np.ndarray:
    """``prob`` (X, Y, Z) float in [0, 1] -> lesion mask uint8 (X, Y, Z) on the same grid."""
    if not 0.0 < config.threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {config.threshold}")
    mask = (prob >= config.threshold).astype(np.uint8)
    if config.fill_holes:
        mask = fill_lesion_holes(mask)
    return remove_small_lesions(
        mask, min_size_voxels(config.min_lesion_size_mm3, voxel_volume_mm3), config.connectivity
    )
