"""Geometry of lesion crops: crops and frames, coarse noise, one-piece and ragged outlines.

Helpers of :mod:`mslesion.synth.lesions` and :mod:`mslesion.synth.lesion_kinds`, all on small
crops in output-voxel units.
"""

from __future__ import annotations

import cc3d
import numpy as np
from scipy import ndimage

from mslesion.infer.crop import brain_box
from mslesion.synth.fields import upsample_linear


def crop_slices(centre: np.ndarray, half: int, shape: tuple[int, ...]) -> tuple[slice, ...]:
    """Cube of ``half`` voxels either side of ``centre`` (voxel indices), clipped to ``shape``."""
    return tuple(
        slice(max(0, int(c) - half), min(s, int(c) + half + 1))
        for c, s in zip(centre, shape, strict=True)
    )


def local_grid(sl: tuple[slice, ...]) -> np.ndarray:
    """Float32 (X, Y, Z, 3): the voxel indices of the crop ``sl`` in the full volume."""
    return np.stack(
        np.meshgrid(*[np.arange(s.start, s.stop, dtype=np.float32) for s in sl], indexing="ij"), -1
    )


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniformly random 3x3 rotation (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    return q * np.sign(np.diag(r))


def frame_along(direction: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotation whose first column is ``direction`` (unit), the others random orthonormal."""
    d = direction / max(float(np.linalg.norm(direction)), 1e-6)
    helper = rng.standard_normal(3)
    helper -= helper @ d * d
    e2 = helper / max(float(np.linalg.norm(helper)), 1e-6)
    return np.stack([d, e2, np.cross(d, e2)], axis=1)


def box_slices(points: np.ndarray, margin: float, shape: tuple[int, ...]) -> tuple[slice, ...]:
    """Crop around (K, 3) voxel positions with ``margin`` voxels on each side."""
    lo = np.maximum(np.floor(points.min(0) - margin), 0).astype(int)
    hi = np.minimum(np.ceil(points.max(0) + margin) + 1, shape).astype(int)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))


def wall_frame(heading: np.ndarray, normal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotation (columns: along the wall, across it, its normal) for a lesion lying flat on the
    ventricle wall: ``heading`` projected onto the wall's plane and turned a little at random
    (~15 degrees), so successive calls follow the wall's curve; ``normal`` is unit."""
    along = heading - (heading @ normal) * normal + rng.normal(0.0, 0.25, 3)
    along = along / max(float(np.linalg.norm(along)), 1e-6)
    side = np.cross(normal, along)
    if float(np.linalg.norm(side)) < 1e-3:  # heading along the normal: any frame will do
        return frame_along(along, rng)
    side = side / np.linalg.norm(side)
    return np.stack([np.cross(side, normal), side, normal], axis=1)


def coarse_noise(
    shape: tuple[int, ...], lumps: int | tuple[int, ...], rng: np.random.Generator
) -> np.ndarray:
    """Smooth noise over a lesion crop of ``shape``: ``lumps`` standard-normal values per axis
    (one number for all three, or one per axis), upsampled linearly to the crop (float32,
    corners aligned). Lumpy edges and thicknesses at lesion scale, cheaper than a
    Gaussian-filtered field for the many small crops of a case (scipy's zoom took a third of a
    high-load case's lesions)."""
    counts = (lumps,) * 3 if isinstance(lumps, int) else tuple(lumps)
    return upsample_linear(rng.standard_normal(counts).astype(np.float32), tuple(shape))


def largest_piece(mask: np.ndarray) -> np.ndarray:
    """The largest 6-connected component of ``mask`` (a confluent lesion is one piece)."""
    labels, n = ndimage.label(mask)
    if n <= 1:
        return mask
    sizes = ndimage.sum_labels(mask, labels, np.arange(1, n + 1))
    return labels == 1 + int(np.argmax(sizes))


def piece_at(mask: np.ndarray, point: np.ndarray, reach: float) -> np.ndarray:
    """The largest 6-connected component of ``mask`` with a voxel within ``reach`` voxels of
    ``point`` (crop voxel indices; the nearest component if none is that close): a lesion grown
    from a root keeps a piece at its root when clipping splits it."""
    labels, n = cc3d.connected_components(mask, connectivity=6, return_N=True)
    if n <= 1:
        return mask
    at = np.argwhere(labels > 0)
    dist2 = ((at - np.asarray(point)) ** 2).sum(1)
    near = labels[tuple(at[dist2 <= reach**2].T)]
    if not near.size:
        return labels == labels[tuple(at[np.argmin(dist2)])]
    sizes = np.bincount(labels.ravel())
    return labels == near[np.argmax(sizes[near])]


def ragged_outline(
    mask: np.ndarray,
    depth_vox: float,
    cell_vox: float,
    rng: np.random.Generator,
    keep: np.ndarray | None = None,
) -> np.ndarray:
    """Bool crop: ``mask`` with inlets cut into its outline, in one piece, without holes.

    Real lesions of >= 300 voxels are ragged: in the real masks their fill (voxels over the
    moment-matched ellipsoid) is 0.39 (0.53 at 300-1000 voxels, 0.22 above), their convex-hull
    fill about the same and they have no enclosed holes; merged smooth lobes measured 0.6-0.7.
    A voxel ``d`` voxels deep (Euclidean distance to the outside) is cut where
    ``d <= depth_vox x noise``, the noise a coarse standard-normal lattice with a point every
    ``cell_vox`` voxels, linearly interpolated: where it is positive (about half of the
    outline) inlets reach in, up to ~2 ``depth_vox`` at its peaks, leaving lobes and branches
    joined by thin bridges. ``keep`` (bool, same shape) is never cut (periventricular lesions
    keep their footing on the ventricle wall). The largest 6-connected piece is kept and
    enclosed holes are filled (a rater outlines a lesion; the real masks have no holes).
    """
    if not mask.any() or depth_vox <= 0:
        return mask
    box = brain_box(mask, 1)
    sub = mask[box]
    depth = ndimage.distance_transform_edt(sub)
    lumps = tuple(max(2, int(np.ceil(s / max(cell_vox, 1.0))) + 1) for s in sub.shape)
    cut = depth <= np.float32(depth_vox) * coarse_noise(sub.shape, lumps, rng)
    if keep is not None:
        cut &= ~keep[box]
    out = np.zeros_like(mask)
    out[box] = ndimage.binary_fill_holes(largest_piece(sub & ~cut))
    return out
