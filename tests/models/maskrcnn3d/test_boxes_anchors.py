"""Anchors, box coding round trip, NMS, clipping."""

from __future__ import annotations

import torch

from mslesion.models.maskrcnn3d.anchors import AnchorConfig, anchor_shapes, anchors_for_shape
from mslesion.models.maskrcnn3d.box_ops import box_volume, clip_boxes, default_box_coder, nms


def test_anchor_count_order_and_shapes():
    config = AnchorConfig(sizes=(2.0, 4.0), ratios=(0.5, 1.0, 2.0))
    anchors = anchors_for_shape((3, 4, 5), config)
    assert anchors.shape == (3 * 4 * 5 * 6, 6)
    centres = (anchors[:, :3] + anchors[:, 3:]) / 2
    # position-major: the first 6 anchors share voxel (0,0,0)'s centre, the next 6 voxel (0,0,1)
    assert torch.allclose(centres[:6], torch.full((6, 3), 0.5))
    assert torch.allclose(centres[6], torch.tensor([0.5, 0.5, 1.5]))
    # last position is voxel (2, 3, 4)
    assert torch.allclose(centres[-1], torch.tensor([2.5, 3.5, 4.5]))
    edges = anchors[:6, 3:] - anchors[:6, :3]
    assert torch.allclose(edges, torch.tensor(anchor_shapes(config)))
    # each anchor keeps the volume of its size cube; the ratio elongates the last axis
    assert torch.allclose(box_volume(anchors[:6]), torch.tensor([8.0, 8.0, 8.0, 64.0, 64.0, 64.0]))
    assert torch.isclose(edges[2, 2] / edges[2, 0], torch.tensor(2.0))


def test_anchor_stride_scales_centres():
    anchors = anchors_for_shape((2, 2, 2), AnchorConfig(sizes=(4.0,), ratios=(1.0,), stride=2))
    centres = (anchors[:, :3] + anchors[:, 3:]) / 2
    assert torch.allclose(centres[-1], torch.tensor([3.0, 3.0, 3.0]))


def test_box_coding_round_trip():
    gen = torch.Generator().manual_seed(0)
    lo = torch.rand(50, 3, generator=gen) * 20
    gt = torch.cat([lo, lo + 1 + torch.rand(50, 3, generator=gen) * 10], dim=1)
    ref = gt + torch.randn(50, 6, generator=gen) * 0.5
    ref[:, 3:] = torch.maximum(ref[:, 3:], ref[:, :3] + 0.5)
    coder = default_box_coder()
    deltas = coder.encode_single(gt, ref)
    assert torch.allclose(coder.decode_single(deltas, ref), gt, atol=1e-4)
    # identical boxes encode to zero deltas
    assert torch.allclose(coder.encode_single(gt, gt), torch.zeros_like(gt), atol=1e-6)


def test_nms_keeps_best_of_overlapping_and_disjoint_boxes():
    boxes = torch.tensor(
        [
            [0.0, 0, 0, 10, 10, 10],
            [1.0, 0, 0, 11, 10, 10],  # IoU ~0.82 with box 0, lower score: suppressed
            [20.0, 20, 20, 25, 25, 25],  # disjoint: kept
            [0.0, 0, 0, 10, 10, 5],  # IoU 0.5 with box 0: kept at threshold 0.6
        ]
    )
    scores = torch.tensor([0.9, 0.8, 0.5, 0.7])
    assert nms(boxes, scores, 0.6).tolist() == [0, 3, 2]
    assert nms(boxes, scores, 0.4).tolist() == [0, 2]
    assert nms(boxes, scores, 0.6, max_keep=1).tolist() == [0]
    assert nms(boxes[:0], scores[:0], 0.5).numel() == 0


def test_clip_boxes():
    boxes = torch.tensor([[-2.0, 3, 1, 5, 40, 8]])
    assert clip_boxes(boxes, (10, 20, 6)).tolist() == [[0.0, 3, 1, 5, 20, 6]]


def test_pairwise_iou_matches_monai():
    from monai.data.box_utils import box_iou

    from mslesion.models.maskrcnn3d.box_ops import pairwise_iou

    gen = torch.Generator().manual_seed(3)
    lo = torch.rand(30, 3, generator=gen) * 10
    boxes = torch.cat([lo, lo + 0.5 + torch.rand(30, 3, generator=gen) * 6], dim=1)
    expected = torch.as_tensor(box_iou(boxes, boxes[:7]))
    assert torch.allclose(pairwise_iou(boxes, boxes[:7]), expected, atol=1e-5)
    assert torch.allclose(torch.diagonal(pairwise_iou(boxes, boxes)), torch.ones(30))
