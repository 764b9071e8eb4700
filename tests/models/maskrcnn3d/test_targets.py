"""Instance targets: components -> boxes, small/large split, matching, mask patches."""

from __future__ import annotations

import numpy as np
import torch

from mslesion.models.maskrcnn3d.targets import (
    IGNORE,
    NEGATIVE,
    instance_targets,
    mask_targets,
    match_boxes,
    sample_balanced,
)


def _two_lesions() -> np.ndarray:
    mask = np.zeros((40, 40, 40), np.uint8)
    mask[3:6, 4:8, 10:12] = 1  # 3x4x2 box = 24 voxels: small
    mask[15:30, 15:30, 15:30] = 1  # 15^3 = 3375 voxels: large
    return mask


def test_boxes_are_half_open_and_split_by_volume():
    t = instance_targets(_two_lesions(), max_box_volume=1500)
    assert t.boxes.tolist() == [[3.0, 4, 10, 6, 8, 12]]
    assert t.ignore_boxes.tolist() == [[15.0, 15, 15, 30, 30, 30]]
    assert int(t.labels.max()) == 2
    assert int(t.labels[4, 5, 10]) == int(t.ids[0])
    everything = instance_targets(_two_lesions(), max_box_volume=1e9)
    assert everything.boxes.shape == (2, 6) and everything.ignore_boxes.shape == (0, 6)
    empty = instance_targets(np.zeros((5, 5, 5), np.uint8))
    assert empty.boxes.shape == (0, 6) and empty.ids.numel() == 0


def test_matching_positive_negative_ignore():
    t = instance_targets(_two_lesions())
    candidates = torch.tensor(
        [
            [3.0, 4, 10, 6, 8, 12],  # exact: positive
            [0.0, 0, 30, 3, 3, 33],  # far: negative
            [16.0, 16, 16, 29, 29, 29],  # on the large lesion: ignored
            [3.0, 4, 10, 6, 8, 17],  # IoU 2/7 ~0.29 with the small lesion: between thresholds
        ]
    )
    assigned = match_boxes(candidates, t, pos_iou=0.5, neg_iou=0.2, best_match_positive=False)
    assert assigned.tolist() == [0, NEGATIVE, IGNORE, IGNORE]


def test_best_match_becomes_positive_for_tiny_lesions():
    mask = np.zeros((20, 20, 20), np.uint8)
    mask[5, 5, 5] = 1
    t = instance_targets(mask)
    candidates = torch.tensor(
        [[4.0, 4, 4, 8, 8, 8], [10.0, 10, 10, 12, 12, 12]]
    )  # IoU 1/64 at best
    assert match_boxes(candidates, t, pos_iou=0.5, neg_iou=0.01).tolist() == [0, NEGATIVE]


def test_balanced_sampling_respects_fraction():
    assigned = torch.tensor([0] * 10 + [NEGATIVE] * 100 + [IGNORE] * 5)
    pos, neg = sample_balanced(assigned, 16, 0.25, torch.Generator().manual_seed(0))
    assert len(pos) == 4 and len(neg) == 12
    assert (assigned[pos] >= 0).all() and (assigned[neg] == NEGATIVE).all()


def test_mask_targets_keep_only_the_matched_lesion():
    mask = np.zeros((12, 12, 12), np.uint8)
    mask[2:4, 2:4, 2:4] = 1
    mask[5:7, 2:4, 2:4] = 1  # a neighbour inside the same box
    t = instance_targets(mask)
    box = torch.tensor([[2.0, 2, 2, 8, 4, 4]])  # 6x2x2 voxels, patch grid 6x2x2: one cell per voxel
    first = int(torch.nonzero(t.boxes[:, 0] == 2).flatten()[0])
    patch = mask_targets(t, box, torch.tensor([first]), (6, 2, 2))[0, 0]
    assert patch[:2].all() and not patch[2:].any()


def test_grid_matching_equals_the_general_matching():
    # The RPN's fast path (each lesion against the anchors centred near it) must assign every
    # anchor exactly as the general matcher does, large-lesion ignore regions included.
    from mslesion.models.maskrcnn3d.anchors import AnchorConfig, anchors_for_shape
    from mslesion.models.maskrcnn3d.targets import AnchorGrid

    rng = np.random.default_rng(3)
    shape = (22, 26, 18)
    labels = np.zeros(shape, np.int32)
    for k in range(1, 14):
        lo = rng.integers(0, np.array(shape) - 2)
        edge = rng.integers(1, [4, 4, 6]) if k > 2 else rng.integers(8, 12, size=3)
        labels[tuple(slice(a, a + e) for a, e in zip(lo, edge, strict=True))] = 1
    targets = instance_targets(torch.from_numpy(labels), max_box_volume=200)
    assert targets.boxes.shape[0] >= 5 and targets.ignore_boxes.shape[0] >= 1
    for stride, config in ((1, AnchorConfig()), (2, AnchorConfig(sizes=(2.0, 5.0), stride=2))):
        feature = tuple(int(np.ceil(s / stride)) for s in shape)
        anchors = anchors_for_shape(feature, config)
        grid = AnchorGrid(feature, config.num_anchors, float(config.stride))
        for best in (True, False):
            kwargs = dict(pos_iou=0.4, neg_iou=0.2, best_match_positive=best)
            general = match_boxes(anchors, targets, **kwargs)
            fast = match_boxes(anchors, targets, grid=grid, **kwargs)
            assert (general >= 0).sum() > 0
            torch.testing.assert_close(fast, general)
