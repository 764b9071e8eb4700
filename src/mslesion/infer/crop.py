"""Crop to the brain before running a network: the bounding box shared by inference and
whole-volume validation (numpy only, so training code can import it cheaply)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage


def brain_box(
    mask: np.ndarray, margin: int | Sequence[int] = 4, min_size: Sequence[int] | None = None
) -> tuple[slice, slice, slice]:
    """Bounding box of the non-zero voxels of ``mask`` (X, Y, Z), grown by ``margin`` voxels
    (one number for every axis, or one per axis).

    With ``min_size`` (e.g. the sliding-window patch), an axis narrower than it is grown
    symmetrically to that width first, so the sliding window need not pad. The box is then
    clipped to the array. An empty mask gives the whole array.
    """
    found = ndimage.find_objects((np.asarray(mask) != 0).astype(np.uint8))
    if not found or found[0] is None:
        return tuple(slice(0, s) for s in mask.shape)  # type: ignore[return-value]
    margins = [int(margin)] * mask.ndim if np.isscalar(margin) else [int(m) for m in margin]
    out = []
    for axis, (sl, size) in enumerate(zip(found[0], mask.shape, strict=True)):
        lo, hi = int(sl.start) - margins[axis], int(sl.stop) + margins[axis]
        if min_size is not None:
            short = int(min_size[axis]) - (hi - lo)
            if short > 0:
                lo, hi = lo - short // 2, hi + short - short // 2
        out.append(slice(max(lo, 0), min(hi, size)))
    return tuple(out)  # type: ignore[return-value]
