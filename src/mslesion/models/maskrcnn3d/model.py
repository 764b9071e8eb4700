"""The Mask R-CNN branch: RPN + R-CNN box head + mask head on U-Net decoder maps.

It takes the decoder maps of a U-Net (``{"d1", "d2", "d3"}``, see
:meth:`mslesion.models.unet.UNet3d.forward_features`) rather than owning a backbone, so
SynergyNet and "Mask R-CNN alone" share one implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from mslesion.models.maskrcnn3d.box_ops import (
    clip_boxes,
    default_box_coder,
    nms,
    remove_small_boxes,
)
from mslesion.models.maskrcnn3d.heads import BoxHead, MaskHead
from mslesion.models.maskrcnn3d.losses import (
    box_regression_loss,
    classification_loss,
    patch_dice_loss,
)
from mslesion.models.maskrcnn3d.rpn import (
    RPNConfig,
    RPNHead,
    anchors_for,
    rpn_losses,
    select_proposals,
)
from mslesion.models.maskrcnn3d.targets import (
    InstanceTargets,
    mask_targets,
    match_boxes,
    sample_balanced,
)

LEVELS = ("d1", "d2", "d3")


@dataclass(frozen=True)
class BranchConfig:
    """Matching, sampling and detection settings (IoUs unitless, sizes in voxels)."""

    rpn: RPNConfig = field(default_factory=RPNConfig)
    rcnn_pos_iou: float = 0.5
    rcnn_neg_iou: float = 0.3
    rcnn_batch: int = 64
    rcnn_positive_fraction: float = 0.5
    box_pool: int = 5
    mask_pool: int = 12
    score_threshold: float = 0.5
    detection_nms_iou: float = 0.2
    max_detections: int = 50


@dataclass(frozen=True)
class Detections:
    """Detections of a batch, concatenated: boxes (K, 6), scores (K,), batch_index (K,)."""

    boxes: torch.Tensor
    scores: torch.Tensor
    batch_index: torch.Tensor


class MaskRCNNBranch(nn.Module):
    """RPN on d1, box head on d1, mask head on d1 + d2 + d3 (channels ``level_channels``)."""

    def __init__(
        self, level_channels: Sequence[int], config: BranchConfig = BranchConfig()
    ) -> None:
        super().__init__()
        self.config = config
        self.rpn = RPNHead(level_channels[0], config.rpn.anchors.num_anchors)
        self.box_head = BoxHead(level_channels[0], pool=config.box_pool)
        self.mask_head = MaskHead(level_channels[:3], pool=config.mask_pool)

    # ----------------------------------------------------------------- training
    def losses(
        self,
        features: dict[str, torch.Tensor],
        targets: list[InstanceTargets],
        active: frozenset[str],
    ) -> dict[str, torch.Tensor]:
        """Loss terms among ``rpn_cls, rpn_box, rcnn_cls, rcnn_box, mask`` that are active."""
        d1 = features["d1"]
        logits, deltas = self.rpn(d1)
        anchors = anchors_for(d1, self.config.rpn)
        out: dict[str, torch.Tensor] = {}
        if {"rpn_cls", "rpn_box"} & active:
            out.update(
                rpn_losses(logits, deltas, anchors, targets, self.config.rpn, tuple(d1.shape[2:]))
            )
        if not {"rcnn_cls", "rcnn_box", "mask"} & active:
            return out
        proposals = select_proposals(
            logits.detach(), deltas.detach(), anchors, tuple(d1.shape[2:]), self.config.rpn
        )
        rois, batch_index, labels, matched = self._sample_rois(proposals, targets)
        if {"rcnn_cls", "rcnn_box"} & active:
            out.update(self._box_losses(d1, rois, batch_index, labels, matched, targets))
        if "mask" in active:
            out["mask"] = self._mask_loss(features, rois, batch_index, labels, matched, targets)
        return out

    def _sample_rois(
        self, proposals: list[tuple[torch.Tensor, torch.Tensor]], targets: list[InstanceTargets]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Balanced ROIs: (R, 6) boxes, (R,) image index, (R,) 0/1 label, (R,) target index."""
        cfg = self.config
        rois, batch_index, labels, matched = [], [], [], []
        for b, ((boxes, _), tgt) in enumerate(zip(proposals, targets, strict=True)):
            # The truth boxes join the proposals so that positives exist from the first step.
            candidates = torch.cat([boxes, tgt.boxes.to(boxes)], dim=0)
            assigned = match_boxes(
                candidates,
                tgt,
                pos_iou=cfg.rcnn_pos_iou,
                neg_iou=cfg.rcnn_neg_iou,
                best_match_positive=False,
            )
            pos, neg = sample_balanced(assigned, cfg.rcnn_batch, cfg.rcnn_positive_fraction)
            chosen = torch.cat([pos, neg])
            rois.append(candidates[chosen])
            batch_index.append(
                torch.full((chosen.numel(),), b, dtype=torch.long, device=boxes.device)
            )
            labels.append((assigned[chosen] >= 0).float())
            matched.append(assigned[chosen])
        return torch.cat(rois), torch.cat(batch_index), torch.cat(labels), torch.cat(matched)

    def _box_losses(
        self,
        d1: torch.Tensor,
        rois: torch.Tensor,
        batch_index: torch.Tensor,
        labels: torch.Tensor,
        matched: torch.Tensor,
        targets: list[InstanceTargets],
    ) -> dict[str, torch.Tensor]:
        cls_logits, deltas = self.box_head(d1, rois, batch_index)
        pos = torch.nonzero(labels > 0).flatten()
        if pos.numel():
            gt = torch.stack(
                [targets[int(batch_index[i])].boxes[int(matched[i])] for i in pos.tolist()]
            )
            target_deltas = default_box_coder().encode_single(gt.to(rois), rois[pos])
            box_loss = box_regression_loss(deltas[pos], target_deltas, pos.numel())
        else:
            box_loss = deltas.sum() * 0.0
        return {"rcnn_cls": classification_loss(cls_logits, labels), "rcnn_box": box_loss}

    def _mask_loss(
        self,
        features: dict[str, torch.Tensor],
        rois: torch.Tensor,
        batch_index: torch.Tensor,
        labels: torch.Tensor,
        matched: torch.Tensor,
        targets: list[InstanceTargets],
    ) -> torch.Tensor:
        pos = torch.nonzero(labels > 0).flatten()
        levels = [features[k] for k in LEVELS]
        if pos.numel() == 0:
            return sum(p.sum() for p in self.mask_head.parameters()) * 0.0  # keeps the graph
        size = (self.config.mask_pool,) * 3
        patch_targets = torch.cat(
            [
                mask_targets(
                    targets[int(batch_index[i])], rois[i : i + 1], matched[i : i + 1], size
                )
                for i in pos.tolist()
            ]
        )
        return patch_dice_loss(self.mask_head(levels, rois[pos], batch_index[pos]), patch_targets)

    # ---------------------------------------------------------------- inference
    @torch.no_grad()
    def detect(self, features: dict[str, torch.Tensor]) -> Detections:
        """Refined, scored, NMS'd detections of each image (score = sigmoid of the box head)."""
        cfg = self.config
        d1 = features["d1"]
        shape = tuple(d1.shape[2:])
        logits, deltas = self.rpn(d1)
        proposals = select_proposals(logits, deltas, anchors_for(d1, cfg.rpn), shape, cfg.rpn)
        rois = torch.cat([p for p, _ in proposals])
        batch_index = torch.cat(
            [
                torch.full((len(p),), b, dtype=torch.long, device=d1.device)
                for b, (p, _) in enumerate(proposals)
            ]
        )
        cls_logits, box_deltas = self.box_head(d1, rois, batch_index)
        boxes = clip_boxes(default_box_coder().decode_single(box_deltas.float(), rois), shape)
        scores = torch.sigmoid(cls_logits)
        kept = []
        for b in range(d1.shape[0]):
            idx = torch.nonzero((batch_index == b) & (scores >= cfg.score_threshold)).flatten()
            idx = idx[remove_small_boxes(boxes[idx], 1.0)]
            kept.append(
                idx[nms(boxes[idx], scores[idx], cfg.detection_nms_iou, cfg.max_detections)]
            )
        keep = torch.cat(kept)
        return Detections(boxes=boxes[keep], scores=scores[keep], batch_index=batch_index[keep])

    def masks(
        self, features: dict[str, torch.Tensor], boxes: torch.Tensor, batch_index: torch.Tensor
    ) -> torch.Tensor:
        """Mask logits (K, 1, m, m, m) of the given boxes."""
        return self.mask_head([features[k] for k in LEVELS], boxes, batch_index)
