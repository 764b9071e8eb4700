"""Region proposal network on the finest decoder map d1 (full resolution, stride 1).

Per position and anchor: one objectness logit (sigmoid focal loss) and six box deltas
(MONAI box coder, smooth-L1). Proposals: best pre-NMS anchors per image, decoded, clipped,
3D NMS, best post-NMS kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from mslesion.models.maskrcnn3d.anchors import AnchorConfig, anchors_for_shape
from mslesion.models.maskrcnn3d.box_ops import (
    clip_boxes,
    default_box_coder,
    nms,
    remove_small_boxes,
)
from mslesion.models.maskrcnn3d.losses import box_regression_loss, focal_objectness_loss
from mslesion.models.maskrcnn3d.targets import (
    IGNORE,
    AnchorGrid,
    InstanceTargets,
    match_boxes,
)


@dataclass(frozen=True)
class RPNConfig:
    """Anchors, matching thresholds (IoU) and proposal counts per image."""

    anchors: AnchorConfig = field(default_factory=AnchorConfig)
    pos_iou: float = 0.4
    neg_iou: float = 0.2
    focal_gamma: float = 2.0
    pre_nms_top_n: int = 1000
    post_nms_top_n: int = 128
    nms_iou: float = 0.3


class RPNHead(nn.Module):
    """(B, C, X, Y, Z) -> objectness (B, X*Y*Z*A) and deltas (B, X*Y*Z*A, 6)."""

    def __init__(self, in_channels: int, num_anchors: int, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or in_channels
        self.num_anchors = num_anchors
        self.conv = nn.Sequential(
            nn.Conv3d(in_channels, hidden, 3, padding=1), nn.ReLU(inplace=True)
        )
        self.objectness = nn.Conv3d(hidden, num_anchors, 1)
        self.deltas = nn.Conv3d(hidden, num_anchors * 6, 1)
        # Start with objectness ~0.01 everywhere (RetinaNet prior): focal loss over millions
        # of background anchors is otherwise dominated by them in the first steps.
        nn.init.constant_(self.objectness.bias, -math.log(99.0))
        nn.init.normal_(self.deltas.weight, std=0.001)
        nn.init.zeros_(self.deltas.bias)

    def forward(self, d1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.conv(d1)
        b, a = d1.shape[0], self.num_anchors
        spatial = d1.shape[2:]
        logits = self.objectness(h).permute(0, 2, 3, 4, 1).reshape(b, -1)
        deltas = (
            self.deltas(h).reshape(b, a, 6, *spatial).permute(0, 3, 4, 5, 1, 2).reshape(b, -1, 6)
        )
        return logits, deltas


def rpn_losses(
    logits: torch.Tensor,
    deltas: torch.Tensor,
    anchors: torch.Tensor,
    targets: list[InstanceTargets],
    config: RPNConfig,
    feature_shape: tuple[int, int, int] | None = None,
) -> dict[str, torch.Tensor]:
    """{"rpn_cls", "rpn_box"} for a batch: logits (B, N), deltas (B, N, 6), anchors (N, 6).

    ``feature_shape``: the (X, Y, Z) of the map the anchors were made for, which lets the
    matching look at each lesion's neighbourhood only (same result, much faster).
    """
    coder = default_box_coder()
    cls_terms, box_terms = [], []
    grid = (
        None
        if feature_shape is None
        else AnchorGrid(tuple(feature_shape), config.anchors.num_anchors, config.anchors.stride)
    )
    for b, tgt in enumerate(targets):
        assigned = match_boxes(
            anchors, tgt, pos_iou=config.pos_iou, neg_iou=config.neg_iou, grid=grid
        )
        valid = assigned != IGNORE
        labels = (assigned >= 0).float()
        cls_terms.append(focal_objectness_loss(logits[b][valid], labels[valid], config.focal_gamma))
        pos = torch.nonzero(assigned >= 0).flatten()
        if pos.numel():
            target_deltas = coder.encode_single(tgt.boxes[assigned[pos]], anchors[pos])
            box_terms.append(box_regression_loss(deltas[b][pos], target_deltas, pos.numel()))
        else:
            box_terms.append(deltas[b].sum() * 0.0)
    return {"rpn_cls": torch.stack(cls_terms).mean(), "rpn_box": torch.stack(box_terms).mean()}


@torch.no_grad()
def select_proposals(
    logits: torch.Tensor,
    deltas: torch.Tensor,
    anchors: torch.Tensor,
    image_shape: tuple[int, int, int],
    config: RPNConfig,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per image: (proposal boxes (P, 6), objectness logits (P,)), after NMS, best first."""
    coder = default_box_coder()
    out = []
    for b in range(logits.shape[0]):
        k = min(config.pre_nms_top_n, logits.shape[1])
        scores, idx = logits[b].topk(k)
        boxes = coder.decode_single(deltas[b][idx].float(), anchors[idx])
        boxes = clip_boxes(boxes, image_shape)
        keep = remove_small_boxes(boxes, 1.0)
        boxes, scores = boxes[keep], scores[keep]
        keep = nms(boxes, scores, config.nms_iou, config.post_nms_top_n)
        out.append((boxes[keep], scores[keep]))
    return out


def anchors_for(d1: torch.Tensor, config: RPNConfig) -> torch.Tensor:
    """Anchors (N, 6) of the feature map d1 (B, C, X, Y, Z)."""
    return anchors_for_shape(tuple(d1.shape[2:]), config.anchors, device=d1.device)
