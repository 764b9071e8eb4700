"""Loss terms of the Mask R-CNN branch and SynergyNet's weighted total.

Term names (and the paper's weights alpha1..alpha6, all configurable):

======== ============================================== =====
term     what                                            alpha
======== ============================================== =====
rpn_cls  anchor objectness, sigmoid focal loss (gamma 2)  1
rpn_box  anchor box deltas, smooth-L1 on positives        1
rcnn_cls proposal classification, BCE                     1.3
rcnn_box proposal box refinement, smooth-L1               1
mask     mask head, soft Dice per patch                   1
seg      fused segmentation map, soft Dice (+ BCE)        5
======== ============================================== =====
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from monai.losses import DiceLoss

LOSS_TERMS: tuple[str, ...] = ("rpn_cls", "rpn_box", "rcnn_cls", "rcnn_box", "mask", "seg")


@dataclass(frozen=True)
class LossWeights:
    """alpha1..alpha6 of the SynergyNet total loss (paper values by default)."""

    rpn_cls: float = 1.0
    rpn_box: float = 1.0
    rcnn_cls: float = 1.3
    rcnn_box: float = 1.0
    mask: float = 1.0
    seg: float = 5.0

    @classmethod
    def from_alphas(cls, alphas: Iterable[float]) -> LossWeights:
        values = [float(a) for a in alphas]
        if len(values) != len(LOSS_TERMS):
            raise ValueError(
                f"need {len(LOSS_TERMS)} loss weights alpha1..alpha6, got {len(values)}"
            )
        return cls(**dict(zip(LOSS_TERMS, values, strict=True)))


def focal_objectness_loss(
    logits: torch.Tensor, labels: torch.Tensor, gamma: float = 2.0
) -> torch.Tensor:
    """Sigmoid focal loss summed over (N,) anchors and divided by the number of positives.

    Written out (three lines) because MONAI's ``FocalLoss`` averages over the spatial axes
    even with ``reduction="sum"``, which makes the RetinaNet normalisation by the number
    of positive anchors impossible.
    """
    if logits.numel() == 0:
        return logits.sum()
    # Losses run in float32 even under bf16 autocast: a sum over millions of anchors in
    # bf16 would lose the few positives' share.
    logits, labels = logits.float(), labels.float()
    bce = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    p_true = torch.exp(-bce)  # probability given to the true class
    return ((1.0 - p_true) ** gamma * bce).sum() / labels.sum().clamp(min=1.0)


def box_regression_loss(
    deltas: torch.Tensor, target_deltas: torch.Tensor, normalizer: int
) -> torch.Tensor:
    """Smooth-L1 (beta 1/9, as in Faster R-CNN) summed over (P, 6) deltas, per positive."""
    if deltas.numel() == 0:
        return deltas.sum()
    loss = F.smooth_l1_loss(deltas.float(), target_deltas.float(), beta=1.0 / 9.0, reduction="sum")
    return loss / max(1, normalizer)


def classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean BCE of (N,) proposal logits against 0/1 labels."""
    if logits.numel() == 0:
        return logits.sum()
    return F.binary_cross_entropy_with_logits(logits.float(), labels.float())


def patch_dice_loss(mask_logits: torch.Tensor, mask_targets: torch.Tensor) -> torch.Tensor:
    """Soft Dice of each (K, 1, m, m, m) patch, averaged over patches."""
    if mask_logits.numel() == 0:
        return mask_logits.sum()
    return DiceLoss(sigmoid=True, batch=False, smooth_nr=1e-5, smooth_dr=1e-5)(
        mask_logits.float(), mask_targets.float()
    )


def segmentation_dice_loss(
    logits: torch.Tensor, truth: torch.Tensor, bce_weight: float = 1.0
) -> torch.Tensor:
    """Soft Dice of (B, 1, X, Y, Z) logits pooled over the batch, plus ``bce_weight`` * BCE.

    The paper uses Dice alone; the BCE part (set ``bce_weight=0`` to drop it) gives the
    background voxels a gradient from the first step, which Dice alone barely does when
    lesions are ~1% of the volume (short CPU runs did not move at all without it).
    """
    logits, truth = logits.float(), truth.float()
    dice = DiceLoss(sigmoid=True, batch=True, smooth_nr=1e-5, smooth_dr=1e-5)(logits, truth)
    if bce_weight == 0:
        return dice
    return dice + bce_weight * F.binary_cross_entropy_with_logits(logits, truth)


def weighted_total(
    losses: Mapping[str, torch.Tensor], weights: LossWeights, active: Iterable[str] | None = None
) -> torch.Tensor:
    """sum(alpha_t * loss_t) over the active terms present in ``losses``."""
    terms = set(LOSS_TERMS if active is None else active)
    parts = [getattr(weights, name) * value for name, value in losses.items() if name in terms]
    if not parts:
        raise ValueError(f"no active loss term among {sorted(losses)}")
    return torch.stack(parts).sum()
