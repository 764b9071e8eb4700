"""Small hand-built masks shared by the metric tests (a plain module: imported by name)."""

from __future__ import annotations

import numpy as np


def cube(
    shape: tuple[int, int, int], corner: tuple[int, int, int], size: int | tuple[int, int, int]
) -> np.ndarray:
    """A uint8 (X, Y, Z) volume with one axis-aligned box of ones."""
    sizes = (size,) * 3 if isinstance(size, int) else size
    out = np.zeros(shape, dtype=np.uint8)
    out[tuple(slice(c, c + s) for c, s in zip(corner, sizes, strict=True))] = 1
    return out


def random_blobs(shape: tuple[int, int, int], n: int, seed: int) -> np.ndarray:
    """Union of ``n`` random balls (radius 1.5-4 voxels): a lesion-like binary mask."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), axis=-1)
    out = np.zeros(shape, dtype=bool)
    for _ in range(n):
        centre = rng.uniform(4, np.array(shape) - 4)
        radius = rng.uniform(1.5, 4.0)
        out |= ((grid - centre) ** 2).sum(-1) <= radius**2
    return out.astype(np.uint8)
