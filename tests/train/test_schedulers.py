"""LR schedules: plateau counts validations only; poly decays to zero over the run."""

from __future__ import annotations

import pytest
import torch

from mslesion.train.config import SchedulerConfig
from mslesion.train.schedulers import build_scheduler, step_scheduler


def _optimizer(lr: float = 1.0) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def test_plateau_ignores_epochs_without_validation():
    opt = _optimizer()
    sched = build_scheduler(SchedulerConfig(kind="plateau", patience=1, factor=0.5), opt, 10)
    train = {"loss": 1.0}
    # many epochs without validation: a training loss that never improves must not cut the LR
    for _ in range(6):
        step_scheduler(sched, train, {}, has_validation=True)
    assert opt.param_groups[0]["lr"] == 1.0
    # two validations without improvement after the first: patience 1 -> one cut
    for _ in range(3):
        step_scheduler(sched, train, {"loss": 0.5}, has_validation=True)
    assert opt.param_groups[0]["lr"] == 0.5


def test_plateau_watches_the_training_loss_without_a_validation_set():
    opt = _optimizer()
    sched = build_scheduler(SchedulerConfig(kind="plateau", patience=0, factor=0.5), opt, 10)
    for _ in range(3):
        step_scheduler(sched, {"loss": 1.0}, {}, has_validation=False)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.25)


def test_poly_follows_nnunet_schedule_and_ends_at_zero():
    opt = _optimizer(1e-3)
    sched = build_scheduler(SchedulerConfig(kind="poly", power=0.9), opt, 10)
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()  # the order torch expects (otherwise it warns)
        step_scheduler(sched, {"loss": 1.0}, {}, has_validation=False)
    assert lrs[0] == pytest.approx(1e-3)
    assert lrs[5] == pytest.approx(1e-3 * (1 - 5 / 10) ** 0.9)
    assert all(a > b for a, b in zip(lrs, lrs[1:], strict=False))
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
