"""Segmentation losses on logits: soft Dice and F.sh's 0.5 BCE + 0.5 soft Dice.

Tensors are (B, 1, X, Y, Z): ``logits`` are raw network outputs, ``target`` is a binary
(0/1) float mask of the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from monai.losses import DiceLoss
from torch import nn


def soft_dice_loss(
    logits: torch.Tensor, target: torch.Tensor, smooth: float = 1e-5
) -> torch.Tensor:
    """``1 - soft Dice`` of ``sigmoid(logits)`` against ``target`` (MONAI ``DiceLoss``).

    Dice is computed over the whole batch at once (``batch=True``) so patches without any
    lesion do not each contribute a meaningless 0-or-1 term. Returns a scalar tensor.
    """
    loss = DiceLoss(sigmoid=True, batch=True, smooth_nr=smooth, smooth_dr=smooth)
    return loss(logits.float(), target.float())


@dataclass(frozen=True)
class LossParts:
    """The total loss and its two weighted parts (unweighted values, for logging)."""

    total: torch.Tensor
    bce: torch.Tensor
    dice: torch.Tensor


class BCEDiceLoss(nn.Module):
    """F.sh's loss: ``bce_weight * BCE + dice_weight * soft Dice loss`` on logits.

    ``forward`` returns a :class:`LossParts`; ``.total`` is what to back-propagate, ``.bce``
    and ``.dice`` are the unweighted components (as logged to ``metrics.csv``).
    """

    def __init__(
        self, bce_weight: float = 0.5, dice_weight: float = 0.5, smooth: float = 1e-5
    ) -> None:
        super().__init__()
        if bce_weight < 0 or dice_weight < 0 or bce_weight + dice_weight <= 0:
            raise ValueError("loss weights must be >= 0 and not both zero")
        self.bce_weight = float(bce_weight)
        self.dice_weight = float(dice_weight)
        self.dice = DiceLoss(sigmoid=True, batch=True, smooth_nr=smooth, smooth_dr=smooth)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> LossParts:
        # Losses in fp32 even under bf16 autocast: the Dice sums lose precision otherwise.
        logits = logits.float()
        target = target.float()
        bce = F.binary_cross_entropy_with_logits(logits, target)
        dice = self.dice(logits, target)
        total = self.bce_weight * bce + self.dice_weight * dice
        return LossParts(total=total, bce=bce, dice=dice)
