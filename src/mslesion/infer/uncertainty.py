"""Test-time-augmentation flips, their voxel-wise spread, and a per-lesion confidence score."""

from __future__ import annotations

import numpy as np
import torch


def flip_sets(tta: bool) -> list[tuple[int, ...]]:
    """Spatial dims of a (B, C, X, Y, Z) tensor to flip per pass: identity, then each axis."""
    return [()] + ([(2,), (3,), (4,)] if tta else [])


def mean_and_std(passes: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Mean and (population) standard deviation of probability passes; std is None for 1 pass."""
    if len(passes) == 1:
        return passes[0], None
    stack = torch.stack(passes)
    return stack.mean(0), stack.std(0, unbiased=False)


def lesion_confidence(labels: np.ndarray, std: np.ndarray, n_lesions: int) -> np.ndarray:
    """Per-lesion confidence in [0, 1]: 1 - 2 x mean TTA std inside the lesion.

    A probability in [0, 1] has a std of at most 0.5, so 1 means all passes agreed exactly and
    0 means they split evenly between 0 and 1. ``labels``: int (X, Y, Z), 1..n_lesions.
    Returns float array of length ``n_lesions`` (index i is lesion i + 1).
    """
    if n_lesions == 0:
        return np.zeros(0, dtype=np.float64)
    flat = labels.ravel()
    sums = np.bincount(flat, weights=std.ravel().astype(np.float64), minlength=n_lesions + 1)
    counts = np.bincount(flat, minlength=n_lesions + 1)
    mean_std = sums[1:] / np.maximum(counts[1:], 1)
    return np.clip(1.0 - 2.0 * mean_std, 0.0, 1.0)
