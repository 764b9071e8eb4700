"""Patch grids and lesion-aware patch sampling (pure numpy helpers).

F.sh trains on 64^3 patches taken on a stride-32 grid. A patch is *positive* when it holds at
least ``min_lesion_voxels`` lesion voxels and *background* when it holds none and at least
``min_brain_fraction`` of its voxels are brain; patches that are neither (mostly outside the
head, or with only a few lesion voxels) are never drawn. All positions are voxel indices of the
patch's first corner in a (X, Y, Z) volume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def axis_starts(size: int, patch: int, stride: int) -> list[int]:
    """Start indices along one axis so that patches of ``patch`` voxels cover ``[0, size)``.

    Regular steps of ``stride``; the last patch is moved back to end exactly at ``size`` so
    the border is covered without padding. A volume smaller than the patch gives ``[0]``
    (the caller pads, see :func:`extract_patch`).
    """
    if patch <= 0 or stride <= 0:
        raise ValueError("patch and stride must be positive")
    if size <= patch:
        return [0]
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return starts


def grid_starts(
    shape: tuple[int, ...], patch: tuple[int, int, int], stride: tuple[int, int, int]
) -> np.ndarray:
    """All patch corners of the grid over a volume of ``shape``: int array (N, 3), voxels."""
    axes = [
        axis_starts(int(s), int(p), int(st))
        for s, p, st in zip(shape[:3], patch, stride, strict=True)
    ]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1).astype(np.int64)


def extract_patch(
    volume: np.ndarray, start: np.ndarray | tuple[int, ...], patch: tuple[int, int, int]
) -> np.ndarray:
    """Copy of ``volume[start : start + patch]``, zero-padded at the far end where it is short.

    Returns an array of shape ``patch`` with ``volume``'s dtype.
    """
    slices = tuple(slice(int(s), int(s) + int(p)) for s, p in zip(start, patch, strict=True))
    crop = np.asarray(volume[slices])
    if crop.shape == tuple(patch):
        return np.array(crop, copy=True)
    out = np.zeros(patch, dtype=crop.dtype)
    out[tuple(slice(0, c) for c in crop.shape)] = crop
    return out


def _box_sums(volume: np.ndarray, starts: np.ndarray, patch: tuple[int, int, int]) -> np.ndarray:
    """Sum of ``volume`` inside each patch, via a summed-volume table (O(1) per patch)."""
    # Padding the table's front with zeros lets one formula serve patches at the border.
    table = np.zeros(tuple(s + 1 for s in volume.shape), dtype=np.int64)
    table[1:, 1:, 1:] = volume.astype(np.int64).cumsum(0).cumsum(1).cumsum(2)
    lo = starts
    hi = np.minimum(starts + np.asarray(patch), np.asarray(volume.shape))
    x0, y0, z0 = lo.T
    x1, y1, z1 = hi.T
    return (
        table[x1, y1, z1]
        - table[x0, y1, z1]
        - table[x1, y0, z1]
        - table[x1, y1, z0]
        + table[x0, y0, z1]
        + table[x0, y1, z0]
        + table[x1, y0, z0]
        - table[x0, y0, z0]
    )


@dataclass(frozen=True)
class PatchIndex:
    """The usable grid patches of one volume.

    Attributes:
        positive: (P, 3) corners of patches with lesion.
        background: (Q, 3) corners of lesion-free patches inside the brain.
    """

    positive: np.ndarray
    background: np.ndarray


def index_patches(
    mask: np.ndarray,
    brain: np.ndarray,
    patch: tuple[int, int, int],
    stride: tuple[int, int, int],
    *,
    min_lesion_voxels: int = 1,
    min_brain_fraction: float = 0.25,
) -> PatchIndex:
    """Sort the grid patches of one volume into positive and in-brain background patches.

    ``mask`` and ``brain`` are (X, Y, Z) arrays (non-zero = lesion / brain).
    """
    starts = grid_starts(mask.shape, patch, stride)
    lesion = _box_sums(mask > 0, starts, patch)
    brain_vox = _box_sums(brain > 0, starts, patch)
    positive = starts[lesion >= min_lesion_voxels]
    background = starts[(lesion == 0) & (brain_vox >= min_brain_fraction * float(np.prod(patch)))]
    return PatchIndex(positive=positive, background=background)


@dataclass(frozen=True)
class PatchRef:
    """One drawn patch: which volume (index into the caller's list) and its corner."""

    volume: int
    start: tuple[int, int, int]
    positive: bool


def sample_patches(
    indices: list[PatchIndex],
    n: int,
    positive_share: float,
    rng: np.random.Generator,
) -> list[PatchRef]:
    """Draw ``n`` patches across volumes, ``round(n * positive_share)`` of them positive.

    Volumes are drawn uniformly, then a patch of the wanted kind within the volume, so that a
    large lesion load does not make one scan dominate. If no volume has positive (or
    background) patches, all patches come from the other kind. Returned in random order.
    """
    if not 0.0 <= positive_share <= 1.0:
        raise ValueError("positive_share must lie in [0, 1]")
    with_pos = [i for i, ix in enumerate(indices) if len(ix.positive)]
    with_bg = [i for i, ix in enumerate(indices) if len(ix.background)]
    if not with_pos and not with_bg:
        raise ValueError("no usable patches: every volume lacks both lesion and brain")
    n_pos = int(round(n * positive_share))
    if not with_pos:
        n_pos = 0
    if not with_bg:
        n_pos = n
    refs: list[PatchRef] = []
    for k in range(n):
        positive = k < n_pos
        pool = with_pos if positive else with_bg
        vol = int(pool[rng.integers(len(pool))])
        corners = indices[vol].positive if positive else indices[vol].background
        corner = corners[rng.integers(len(corners))]
        refs.append(PatchRef(volume=vol, start=tuple(int(c) for c in corner), positive=positive))  # type: ignore[arg-type]
    order = rng.permutation(n)
    return [refs[i] for i in order]
