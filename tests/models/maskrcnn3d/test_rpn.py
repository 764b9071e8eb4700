"""The RPN learns to find a single synthetic blob."""

from __future__ import annotations

import torch
from torch import nn

from mslesion.models.maskrcnn3d.anchors import AnchorConfig
from mslesion.models.maskrcnn3d.box_ops import box_iou
from mslesion.models.maskrcnn3d.rpn import (
    RPNConfig,
    RPNHead,
    anchors_for,
    rpn_losses,
    select_proposals,
)
from mslesion.models.maskrcnn3d.targets import instance_targets


def test_rpn_learns_a_single_blob():
    torch.manual_seed(0)
    shape = (12, 12, 12)
    image = torch.zeros(1, 1, *shape)
    image[0, 0, 6:10, 2:5, 3:8] = 1.0  # one 4x3x5 "lesion"
    targets = [instance_targets(image[0, 0])]
    config = RPNConfig(
        anchors=AnchorConfig(sizes=(3.0, 5.0), ratios=(1.0, 2.0)),
        pre_nms_top_n=200,
        post_nms_top_n=5,
    )
    features = nn.Sequential(
        nn.Conv3d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv3d(8, 8, 3, padding=1), nn.ReLU()
    )
    head = RPNHead(8, config.anchors.num_anchors)
    params = list(features.parameters()) + list(head.parameters())
    optimizer = torch.optim.Adam(params, lr=2e-2)
    first = None
    for _ in range(40):
        optimizer.zero_grad()
        d1 = features(image)
        logits, deltas = head(d1)
        losses = rpn_losses(logits, deltas, anchors_for(d1, config), targets, config)
        total = losses["rpn_cls"] + losses["rpn_box"]
        first = total.item() if first is None else first
        total.backward()
        optimizer.step()
    assert total.item() < 0.3 * first
    with torch.no_grad():
        d1 = features(image)
        logits, deltas = head(d1)
        ((boxes, scores),) = select_proposals(
            logits, deltas, anchors_for(d1, config), shape, config
        )
    best = torch.as_tensor(box_iou(boxes[:1], targets[0].boxes))
    assert float(best) > 0.5, boxes[:1]
    assert float(torch.sigmoid(scores[0])) > 0.5
