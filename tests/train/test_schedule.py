"""Staged schedule: stage boundaries, scaling, active terms and parameter groups."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mslesion.train.schedule import StagedSchedule, set_trainable


def test_paper_schedule_boundaries():
    s = StagedSchedule()
    assert s.epochs_per_stage() == (30, 30, 40, 100)
    assert s.total_epochs == 200
    assert [s.stage_at(e).index for e in (0, 29, 30, 59, 60, 99, 100, 199, 500)] == [
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        4,
        4,
    ]


def test_terms_and_groups_switch_on_stage_by_stage():
    s = StagedSchedule(stage_epochs=(1, 1, 1, 1))
    stages = [s.stage_at(e) for e in range(4)]
    assert stages[0].loss_terms == {"rpn_cls", "rpn_box"}
    assert stages[0].param_groups == {"backbone", "rpn"}
    assert stages[1].loss_terms == {"rpn_cls", "rpn_box", "rcnn_cls", "rcnn_box"}
    assert stages[1].param_groups == {"backbone", "rpn", "rcnn"}
    assert stages[2].loss_terms - stages[1].loss_terms == {"mask"}
    assert stages[2].param_groups - stages[1].param_groups == {"mask"}
    assert stages[3].loss_terms - stages[2].loss_terms == {"seg"}
    assert stages[3].param_groups - stages[2].param_groups == {"unet_head"}


def test_scale_keeps_every_stage():
    s = StagedSchedule(scale=0.05)
    assert s.epochs_per_stage() == (2, 2, 2, 5)
    assert StagedSchedule(scale=0.001).epochs_per_stage() == (1, 1, 1, 1)


def test_only_terms_skips_empty_stages():
    s = StagedSchedule(
        stage_epochs=(1, 2, 3, 4),
        only_terms=frozenset({"rpn_cls", "rpn_box", "rcnn_cls", "rcnn_box", "mask"}),
    )
    assert s.epochs_per_stage() == (1, 2, 3, 0)
    assert s.total_epochs == 6
    assert s.stage_at(5).index == 3 and s.stage_at(10).index == 3
    assert "seg" not in s.stage_at(5).loss_terms


def test_invalid_schedules_raise():
    with pytest.raises(ValueError):
        StagedSchedule(stage_epochs=(1, 2, 3))
    with pytest.raises(ValueError):
        StagedSchedule(scale=0)
    with pytest.raises(ValueError):
        StagedSchedule().stage_at(-1)


def test_set_trainable_freezes_inactive_groups():
    a, b = nn.Linear(2, 3), nn.Linear(3, 1)
    groups = {"backbone": list(a.parameters()), "rpn": list(b.parameters())}
    assert set_trainable(groups, {"backbone"}) == 9
    assert all(p.requires_grad for p in a.parameters())
    assert not any(p.requires_grad for p in b.parameters())
    b(a(torch.ones(1, 2))).sum().backward()
    assert b.weight.grad is None and a.weight.grad is not None
    with pytest.raises(ValueError):
        set_trainable(groups, {"nope"})
