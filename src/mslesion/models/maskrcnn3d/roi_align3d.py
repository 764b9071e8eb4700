"""ROIAlign in 3D by trilinear sampling with ``torch.nn.functional.grid_sample``.

Hand-written because torchvision's ``roi_align`` is 2D only and MONAI has no 3D ROI pooling.
Each output cell takes one trilinear sample at its centre (``sampling_ratio`` = 1; the ROIs
here are small lesions, so averaging several samples per cell buys little). Differentiable
with respect to the features (not the boxes, as in Mask R-CNN).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def roi_sample_points(
    boxes: torch.Tensor, output_size: tuple[int, int, int], spatial_scale: float
) -> torch.Tensor:
    """Continuous feature-map coordinates of the cell centres: (K, o0, o1, o2, 3).

    Coordinates are in the feature map's voxel units (voxel i spans [i, i+1)); a box edge
    ``[lo, hi)`` in image voxels is split into ``o`` equal cells.
    """
    steps = []
    for axis, n in enumerate(output_size):
        lo = boxes[:, axis] * spatial_scale
        hi = boxes[:, axis + 3] * spatial_scale
        frac = (torch.arange(n, device=boxes.device, dtype=boxes.dtype) + 0.5) / n  # (n,)
        steps.append(lo[:, None] + (hi - lo)[:, None] * frac[None, :])  # (K, n)
    k = boxes.shape[0]
    o0, o1, o2 = output_size
    p0 = steps[0][:, :, None, None].expand(k, o0, o1, o2)
    p1 = steps[1][:, None, :, None].expand(k, o0, o1, o2)
    p2 = steps[2][:, None, None, :].expand(k, o0, o1, o2)
    return torch.stack([p0, p1, p2], dim=-1)


def roi_align3d(
    features: torch.Tensor,
    boxes: torch.Tensor,
    batch_index: torch.Tensor,
    output_size: tuple[int, int, int],
    spatial_scale: float = 1.0,
    mode: str = "bilinear",
) -> torch.Tensor:
    """Pool ROI features: (B, C, X, Y, Z) features, (K, 6) image-voxel boxes -> (K, C, o0, o1, o2).

    Args:
        features: feature map whose voxel i covers image voxels [i/scale, (i+1)/scale).
        boxes: corner boxes in image voxels (see :mod:`.box_ops`), float.
        batch_index: (K,) long, which image of the batch each box belongs to.
        output_size: cells per axis of the pooled patch.
        spatial_scale: feature voxels per image voxel (1 for d1, 1/2 for d2, 1/4 for d3).
        mode: ``"bilinear"`` (trilinear for 5D) or ``"nearest"`` (for label volumes).

    Samples outside the map read zeros (``padding_mode="zeros"``).
    """
    k = boxes.shape[0]
    c = features.shape[1]
    out = features.new_zeros((k, c, *output_size))
    if k == 0:
        return out
    points = roi_sample_points(boxes.to(features.dtype), output_size, spatial_scale)
    # grid_sample with align_corners=False maps voxel i's centre (i + 0.5) to 2(i+0.5)/n - 1,
    # and wants the coordinates last-axis-first (W, H, D order).
    sizes = torch.tensor(features.shape[2:], dtype=features.dtype, device=features.device)
    grid = (2.0 * points / sizes - 1.0).flip(-1)
    for b in torch.unique(batch_index).tolist():
        sel = torch.nonzero(batch_index == b).flatten()
        g = grid[sel]  # (k_b, o0, o1, o2, 3)
        # All ROIs of one image in one call: stack them along the first output axis.
        g = g.reshape(1, len(sel) * output_size[0], output_size[1], output_size[2], 3)
        sampled = F.grid_sample(
            features[b : b + 1], g, mode=mode, padding_mode="zeros", align_corners=False
        )
        sampled = sampled.reshape(c, len(sel), *output_size).transpose(0, 1)
        out = out.index_copy(0, sel, sampled)
    return out
