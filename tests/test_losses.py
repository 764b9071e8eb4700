"""Soft Dice and BCE + Dice on logits."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mslesion.losses import BCEDiceLoss, soft_dice_loss


def _target() -> torch.Tensor:
    t = torch.zeros(2, 1, 8, 8, 8)
    t[0, 0, 2:5, 2:5, 2:5] = 1
    t[1, 0, 4:7, 1:3, 3:6] = 1
    return t


def test_dice_of_perfect_prediction_is_about_zero() -> None:
    t = _target()
    logits = (t * 2 - 1) * 50  # sigmoid saturates at the target
    assert soft_dice_loss(logits, t).item() == pytest.approx(0.0, abs=1e-4)


def test_dice_of_inverted_prediction_is_about_one() -> None:
    t = _target()
    assert soft_dice_loss((1 - 2 * t) * 50, t).item() == pytest.approx(1.0, abs=1e-4)


def test_dice_matches_the_formula() -> None:
    t = _target()
    logits = torch.randn_like(t)
    p = torch.sigmoid(logits)
    expected = 1 - (2 * (p * t).sum() + 1e-5) / (p.sum() + t.sum() + 1e-5)
    assert soft_dice_loss(logits, t).item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize(("wb", "wd"), [(0.5, 0.5), (1.0, 0.0), (0.2, 0.8)])
def test_bce_dice_is_the_weighted_sum_of_its_parts(wb: float, wd: float) -> None:
    t = _target()
    logits = torch.randn_like(t)
    parts = BCEDiceLoss(wb, wd)(logits, t)
    assert parts.bce.item() == pytest.approx(
        F.binary_cross_entropy_with_logits(logits, t).item(), rel=1e-6
    )
    assert parts.dice.item() == pytest.approx(soft_dice_loss(logits, t).item(), rel=1e-6)
    assert parts.total.item() == pytest.approx(
        wb * parts.bce.item() + wd * parts.dice.item(), rel=1e-6
    )


def test_loss_backpropagates_and_rejects_bad_weights() -> None:
    t = _target()
    logits = torch.zeros_like(t, requires_grad=True)
    BCEDiceLoss()(logits, t).total.backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    with pytest.raises(ValueError):
        BCEDiceLoss(0.0, 0.0)
