"""Crop to the brain before running a network: the bounding box shared by inference and
whole-volume validation (numpy only, so training code can import it cheaply)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def brain_box(
    mask: np.ndarray, margin: int | Sequence[int] = 4, min_size: Sequence[int] | None = None
) -> tuple[slice, slice, slice]:
    """Bounding box of the non-zero voxels of ``mask`` (X, Y, Z), grown by ``margin`` voxels
    (one number for every axis, or one per axis).

    With ``min_size`` (e.g. the sliding-window patch), an axis narrower than it is grown
    symmetrically to that width first, so the sliding window need not pad. The box is then
    clipped to the array. An empty mask gives the whole array.
    """
    found = _nonzero_box(np.asarray(mask))
    if found is None:
        return tuple(slice(0, s) for s in mask.shape)  # type: ignore[return-value]
    margins = [int(margin)] * mask.ndim if np.isscalar(margin) else [int(m) for m in margin]
    out = []
    for axis, ((start, stop), size) in enumerate(zip(found, mask.shape, strict=True)):
        lo, hi = start - margins[axis], stop + margins[axis]
        if min_size is not None:
            short = int(min_size[axis]) - (hi - lo)
            if short > 0:
                lo, hi = lo - short // 2, hi + short - short // 2
        out.append(slice(max(lo, 0), min(hi, size)))
    return tuple(out)  # type: ignore[return-value]


def _nonzero_box(mask: np.ndarray) -> list[tuple[int, int]] | None:
    """Per axis, (first, last + 1) index holding a non-zero voxel; None if there is none.

    From the projections (``any`` over the other axes): 6-7x faster than
    ``ndimage.find_objects`` on a uint8 copy for 80^3-182^3 volumes (the synthetic generator
    asks for the box of every lesion crop)."""
    out = []
    for axis in range(mask.ndim):
        others = tuple(a for a in range(mask.ndim) if a != axis)
        hits = np.flatnonzero(mask.any(axis=others))
        if not hits.size:
            return None
        out.append((int(hits[0]), int(hits[-1]) + 1))
    return out
