"""Tiny test volumes built in memory: an ellipsoidal brain with bright spherical lesions."""

from __future__ import annotations

import numpy as np


def make_blob_volume(
    shape: tuple[int, int, int] = (32, 36, 28),
    n_blobs: int = 3,
    seed: int = 0,
    *,
    spread: float = 0.4,
    radius: tuple[float, float] = (1.5, 3.5),
    noise: float = 0.02,
) -> tuple[np.ndarray, np.ndarray]:
    """A small ellipsoidal 'brain' (0.4) with bright spherical 'lesions' (0.9) plus Gaussian
    noise inside the brain: (image float32, mask uint8).

    Lesion centres lie within ``spread`` brain radii of the centre; lesion radii are drawn
    uniformly from ``radius`` (voxels); ``noise`` is the noise standard deviation.
    """
    gen = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), axis=-1).astype(
        np.float32
    )
    centre = (np.array(shape) - 1) / 2
    radii = np.array(shape) * 0.42
    brain = (((grid - centre) / radii) ** 2).sum(-1) <= 1.0
    image = np.where(brain, 0.4, 0.0).astype(np.float32)
    mask = np.zeros(shape, dtype=np.uint8)
    for _ in range(n_blobs):
        c = centre + gen.uniform(-spread, spread, size=3) * radii
        r = gen.uniform(*radius)
        mask |= ((((grid - c) ** 2).sum(-1) <= r * r) & brain).astype(np.uint8)
    image[mask > 0] = 0.9
    image = image + gen.normal(0, noise, size=shape).astype(np.float32) * brain
    return image.astype(np.float32), mask
