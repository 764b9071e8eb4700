"""Instance targets for the Mask R-CNN branch: lesions -> boxes, matching, mask patches.

Lesions are the 26-connected components of the truth mask (``cc3d``). Boxes follow
:mod:`.box_ops` (corner format along the array axes, voxel i spans [i, i+1)), so the box of
a component is ``[min_index, max_index + 1)`` per axis. As in the SynergyNet paper, only
*small* lesions (box volume < ``max_box_volume`` = 1500 voxels) train the branch; the boxes
of larger lesions are kept as "ignore" regions so that anchors and proposals sitting on a
large lesion are neither positives nor negatives (the U-Net handles those lesions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cc3d
import numpy as np
import torch

from mslesion.models.maskrcnn3d.box_ops import pairwise_iou
from mslesion.models.maskrcnn3d.roi_align3d import roi_align3d

IGNORE = -2
NEGATIVE = -1


@dataclass(frozen=True)
class InstanceTargets:
    """Targets of one image.

    Attributes:
        boxes: (G, 6) float boxes of the small lesions (the branch's targets).
        ids: (G,) long component ids of those lesions in ``labels``.
        ignore_boxes: (H, 6) float boxes of the large lesions.
        labels: (X, Y, Z) int32 component labels (0 = background), on the boxes' device.
    """

    boxes: torch.Tensor
    ids: torch.Tensor
    ignore_boxes: torch.Tensor
    labels: torch.Tensor


def instance_targets(
    mask: np.ndarray | torch.Tensor,
    *,
    max_box_volume: float = 1500.0,
    connectivity: int = 26,
    device: torch.device | str = "cpu",
) -> InstanceTargets:
    """Lesion instances of a binary (X, Y, Z) mask, split by box volume (voxels)."""
    array = mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
    labels, n = cc3d.connected_components(
        (array > 0.5).astype(np.uint8), connectivity=connectivity, return_N=True
    )
    small: list[list[float]] = []
    small_ids: list[int] = []
    large: list[list[float]] = []
    if n > 0:
        stats = cc3d.statistics(labels)
        for lesion_id in range(1, n + 1):
            sl = stats["bounding_boxes"][lesion_id]
            box = [float(s.start) for s in sl] + [float(s.stop) for s in sl]
            volume = float(np.prod([s.stop - s.start for s in sl]))
            if volume < max_box_volume:
                small.append(box)
                small_ids.append(lesion_id)
            else:
                large.append(box)
    return InstanceTargets(
        boxes=torch.tensor(small, dtype=torch.float32, device=device).reshape(-1, 6),
        ids=torch.tensor(small_ids, dtype=torch.long, device=device),
        ignore_boxes=torch.tensor(large, dtype=torch.float32, device=device).reshape(-1, 6),
        labels=torch.from_numpy(labels.astype(np.int32)).to(device),
    )


@dataclass(frozen=True)
class AnchorGrid:
    """Row layout of :func:`~mslesion.models.maskrcnn3d.anchors.anchors_for_shape`: row
    ``((x * Y + y) * Z + z) * A + a``, centres at ``(i + 0.5) * stride`` input voxels."""

    shape: tuple[int, int, int]
    num_anchors: int
    stride: float = 1.0


def match_boxes(
    candidates: torch.Tensor,
    targets: InstanceTargets,
    *,
    pos_iou: float,
    neg_iou: float,
    ignore_iou: float = 0.1,
    best_match_positive: bool = True,
    grid: AnchorGrid | None = None,
) -> torch.Tensor:
    """Assign each of the (N, 6) candidate boxes: target index >= 0, NEGATIVE or IGNORE.

    Positive when IoU with a small lesion >= ``pos_iou``; negative when its best IoU is
    < ``neg_iou`` and it overlaps no large lesion by ``ignore_iou`` or more; otherwise
    ignored. With ``best_match_positive``, each lesion's best candidate is positive too
    (tiny lesions rarely reach ``pos_iou`` with any anchor).

    ``grid``: the candidates are the anchors of that grid (the RPN's case). Each lesion is
    then compared only with the anchors centred near it, found by index arithmetic; the
    result is the same, and the work drops by about the number of lesions.
    """
    n = candidates.shape[0]
    assigned = torch.full((n,), NEGATIVE, dtype=torch.long, device=candidates.device)
    if targets.ignore_boxes.numel() and n:
        if grid is None:
            big = _best_overlap(candidates, targets.ignore_boxes)[0]
        else:
            big = _best_overlap_grid(candidates, grid, targets.ignore_boxes)[0]
        assigned[big >= ignore_iou] = IGNORE
    if targets.boxes.numel() == 0 or n == 0:
        return assigned
    if grid is not None:
        best_iou, best_gt, per_box = _best_overlap_grid(candidates, grid, targets.boxes)
    else:
        best_iou, best_gt = _best_overlap(candidates, targets.boxes)
    assigned[(best_iou >= neg_iou) & (best_iou < pos_iou)] = IGNORE
    positive = best_iou >= pos_iou
    assigned[positive] = best_gt[positive]
    if best_match_positive and grid is not None:
        for j, (rows, iou) in enumerate(per_box):
            if iou.numel() and float(iou.max()) > 0:
                assigned[rows[iou == iou.max()]] = j
    elif best_match_positive:
        near = _near_rows(candidates, targets.boxes)
        iou = torch.cat(
            [
                pairwise_iou(candidates[near[c : c + _CHUNK]], targets.boxes)
                for c in range(0, len(near), _CHUNK)
            ]
        )
        per_gt_best = iou.max(dim=0).values if len(near) else torch.zeros(len(targets.boxes))
        rows, cols = torch.nonzero(
            (iou == per_gt_best[None, :]) & (per_gt_best[None, :] > 0), as_tuple=True
        )
        assigned[near[rows]] = cols
    return assigned


# Rows of an IoU matrix computed at once (memory bound for the millions of anchors of a crop).
_CHUNK = 65536


def _near_rows(candidates: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Indices of candidates whose centre lies near a box (the only ones with IoU > 0).

    A candidate overlaps a box only if its centre is within the box grown by the candidate's
    half-size; the grown boxes are rasterised on the voxel grid and each centre looked up, so
    the cost is O(candidates + box volumes) instead of O(candidates x boxes). (Hand-written:
    MONAI's matchers compute the full IoU matrix, too big for ~10^7 full-resolution anchors.)
    """
    centres = (candidates[:, :3] + candidates[:, 3:]) / 2
    grow = ((candidates[:, 3:] - candidates[:, :3]) / 2).max(dim=0).values
    size = (
        torch.ceil(torch.maximum(centres.max(dim=0).values, boxes[:, 3:].max(dim=0).values)).long()
        + 1
    )
    size = size.clamp(min=1)
    near = torch.zeros(tuple(size.tolist()), dtype=torch.bool, device=candidates.device)
    lo = torch.floor(boxes[:, :3] - grow).long().clamp(min=0)
    hi = torch.ceil(boxes[:, 3:] + grow).long()
    for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
        near[a[0] : b[0], a[1] : b[1], a[2] : b[2]] = True
    idx = torch.floor(centres).long().clamp(min=0)
    idx = torch.minimum(idx, size - 1)
    return torch.nonzero(near[idx[:, 0], idx[:, 1], idx[:, 2]]).flatten()


def _best_overlap(
    candidates: torch.Tensor, boxes: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Best IoU (N,) with any box and that box's index (N,); 0 / 0 for far candidates."""
    best = torch.zeros(candidates.shape[0], device=candidates.device)
    index = torch.zeros(candidates.shape[0], dtype=torch.long, device=candidates.device)
    near = _near_rows(candidates, boxes)
    for c in range(0, len(near), _CHUNK):
        rows = near[c : c + _CHUNK]
        best[rows], index[rows] = pairwise_iou(candidates[rows], boxes).max(dim=1)
    return best, index


def _grid_rows(
    grid: AnchorGrid, lo: list[float], hi: list[float], device: torch.device
) -> torch.Tensor:
    """Rows of the grid's anchors whose centre lies in the box [lo, hi] (input voxels)."""
    ranges = []
    for axis in range(3):
        first = max(0, math.ceil(lo[axis] / grid.stride - 0.5))
        last = min(grid.shape[axis] - 1, math.floor(hi[axis] / grid.stride - 0.5))
        if last < first:
            return torch.zeros(0, dtype=torch.long, device=device)
        ranges.append(torch.arange(first, last + 1, device=device))
    rx, ry, rz = ranges
    position = (rx[:, None, None] * grid.shape[1] + ry[None, :, None]) * grid.shape[2]
    position = (position + rz[None, None, :]).reshape(-1, 1)
    anchor = torch.arange(grid.num_anchors, device=device)[None, :]
    return (position * grid.num_anchors + anchor).reshape(-1)


def _best_overlap_grid(
    anchors: torch.Tensor, grid: AnchorGrid, boxes: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
    """:func:`_best_overlap` for grid anchors, plus each box's (rows, IoUs) near it.

    An anchor overlaps a box only if its centre lies within the box grown by the anchor's
    half-edge, so each box looks at that block of grid positions alone.
    """
    best = torch.zeros(anchors.shape[0], device=anchors.device)
    index = torch.zeros(anchors.shape[0], dtype=torch.long, device=anchors.device)
    first = anchors[: grid.num_anchors]
    grow = ((first[:, 3:] - first[:, :3]) / 2).max(dim=0).values
    per_box = []
    for j, box in enumerate(boxes):
        rows = _grid_rows(
            grid, (box[:3] - grow).tolist(), (box[3:] + grow).tolist(), anchors.device
        )
        iou = pairwise_iou(anchors[rows], box[None])[:, 0]
        better = iou > best[rows]  # strict: on ties the lower box index stays, as max() does
        best[rows[better]] = iou[better]
        index[rows[better]] = j
        per_box.append((rows, iou))
    return best, index, per_box


def sample_balanced(
    assigned: torch.Tensor,
    batch_size: int,
    positive_fraction: float,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random positive and negative indices: at most ``batch_size``, positives at most a share."""
    pos = torch.nonzero(assigned >= 0).flatten()
    neg = torch.nonzero(assigned == NEGATIVE).flatten()
    n_pos = min(pos.numel(), int(batch_size * positive_fraction))
    n_neg = min(neg.numel(), batch_size - n_pos)
    perm_pos = torch.randperm(pos.numel(), generator=generator).to(pos.device)[:n_pos]
    perm_neg = torch.randperm(neg.numel(), generator=generator).to(neg.device)[:n_neg]
    return pos[perm_pos], neg[perm_neg]


def mask_targets(
    targets: InstanceTargets,
    boxes: torch.Tensor,
    target_index: torch.Tensor,
    output_size: tuple[int, int, int],
) -> torch.Tensor:
    """Binary mask patches (K, 1, o0, o1, o2) of the matched lesion inside each box.

    The label volume is sampled with nearest neighbour on the same cell grid as
    :func:`roi_align3d`, then compared with the matched lesion's id, so a neighbouring
    lesion inside the box is background for this patch.
    """
    labels = targets.labels.to(boxes.device, torch.float32)[None, None]
    batch = torch.zeros(boxes.shape[0], dtype=torch.long, device=boxes.device)
    sampled = roi_align3d(labels, boxes, batch, output_size, 1.0, mode="nearest")
    ids = targets.ids[target_index].to(boxes.device, torch.float32)
    return (sampled == ids[:, None, None, None, None]).float()
