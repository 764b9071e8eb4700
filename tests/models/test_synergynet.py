"""SynergyNet, Mask R-CNN alone and the ensemble: fusion, shapes, stage-wise losses, overfitting."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mslesion.models import build_model
from mslesion.models.checkpoint import make_checkpoint, model_from_checkpoint
from mslesion.models.maskrcnn3d.losses import LossWeights, weighted_total
from mslesion.models.synergynet import (
    EMPTY_LOGIT,
    PARAMETER_GROUPS,
    ensemble_from_members,
    paste_and_fuse,
)
from mslesion.train.schedule import StagedSchedule

TINY = {"base_channels": 4, "depth": 3, "norm": "instance"}


def _blob(shape=(16, 16, 16)) -> tuple[torch.Tensor, torch.Tensor]:
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1)
    mask = (((grid - np.array([5, 9, 7])) ** 2).sum(-1) <= 6).astype(np.float32)
    mask += (((grid - np.array([11, 4, 10])) ** 2).sum(-1) <= 3).astype(np.float32)
    rng = np.random.default_rng(0)
    image = (mask * 2.0 + rng.normal(0, 0.2, size=shape)).astype(np.float32)
    return torch.from_numpy(image)[None, None], torch.from_numpy(np.clip(mask, 0, 1))[None, None]


# ---------------------------------------------------------------- fusion
def test_gamma_one_reproduces_the_patch_inside_the_box():
    base = torch.randn(2, 1, 10, 12, 9)
    patch = torch.randn(1, 1, 3, 4, 2)
    box = torch.tensor([[2.0, 5, 6, 5, 9, 8]])  # on the voxel grid, same size as the patch
    fused = paste_and_fuse(base, patch, box, torch.tensor([1]), gamma=1.0)
    assert torch.allclose(fused[1, :, 2:5, 5:9, 6:8], patch[0], atol=1e-5)
    outside = torch.ones_like(base, dtype=torch.bool)
    outside[1, :, 2:5, 5:9, 6:8] = False
    assert torch.equal(fused[outside], base[outside])
    assert torch.equal(fused[0], base[0])


def test_gamma_zero_leaves_the_unet_logits_unchanged_and_blend_is_linear():
    base = torch.randn(1, 1, 8, 8, 8)
    patch = torch.randn(1, 1, 4, 4, 4)
    box = torch.tensor([[2.0, 2, 2, 6, 6, 6]])
    assert torch.equal(paste_and_fuse(base, patch, box, torch.tensor([0]), gamma=0.0), base)
    blended = paste_and_fuse(base, patch, box, torch.tensor([0]), gamma=0.3)
    expected = 0.3 * patch[0] + 0.7 * base[0, :, 2:6, 2:6, 2:6]
    assert torch.allclose(blended[0, :, 2:6, 2:6, 2:6], expected, atol=1e-5)


def test_paste_resamples_and_clips_at_the_border():
    base = torch.zeros(1, 1, 6, 6, 6)
    patch = torch.full((1, 1, 2, 2, 2), 3.0)  # constant patch: resampling keeps the value
    box = torch.tensor([[4.0, 4, 4, 10, 10, 10]])  # runs past the volume
    fused = paste_and_fuse(base, patch, box, torch.tensor([0]), gamma=1.0)
    assert torch.allclose(fused[0, 0, 4:, 4:, 4:], torch.full((2, 2, 2), 3.0))
    assert float(fused[0, 0, :4].abs().sum()) == 0.0


def test_fusion_is_differentiable_in_both_inputs():
    base = torch.zeros(1, 1, 6, 6, 6, requires_grad=True)
    patch = torch.ones(1, 1, 2, 2, 2, requires_grad=True)
    paste_and_fuse(
        base, patch, torch.tensor([[1.0, 1, 1, 3, 3, 3]]), torch.tensor([0]), 0.3
    ).sum().backward()
    assert torch.allclose(patch.grad, torch.full_like(patch, 0.3))
    assert float(base.grad[0, 0, 1, 1, 1]) == pytest.approx(0.7)
    assert float(base.grad[0, 0, 5, 5, 5]) == pytest.approx(1.0)


# ---------------------------------------------------------------- models
@pytest.mark.parametrize("name", ["synergynet", "maskrcnn3d", "ensemble-unet-maskrcnn"])
def test_eval_forward_any_size_and_checkpoint_round_trip(name):
    torch.manual_seed(0)
    model = build_model(name, **TINY).eval()
    x = torch.randn(1, 1, 13, 17, 11)
    with torch.no_grad():
        out = model(x)
    assert out.shape == x.shape and torch.isfinite(out).all()
    rebuilt, _ = model_from_checkpoint(make_checkpoint(model))
    with torch.no_grad():
        assert torch.allclose(rebuilt(x), out, atol=1e-5)


def test_maskrcnn_alone_without_detections_is_an_empty_map():
    model = build_model("maskrcnn3d", score_threshold=1.01, **TINY).eval()  # nothing passes
    with torch.no_grad():
        out = model(torch.randn(1, 1, 12, 12, 12))
    assert torch.all(out == EMPTY_LOGIT)


def test_ensemble_averages_member_probabilities():
    torch.manual_seed(0)
    unet = build_model("unet3d", base_channels=4, depth=3, norm="instance").eval()
    maskrcnn = build_model("maskrcnn3d", **TINY).eval()
    ensemble = ensemble_from_members(unet, maskrcnn).eval()
    x = torch.randn(1, 1, 12, 12, 12)
    with torch.no_grad():
        expected = 0.5 * (torch.sigmoid(unet(x)) + torch.sigmoid(maskrcnn(x)))
        assert torch.allclose(torch.sigmoid(ensemble(x)), expected, atol=1e-5)


def test_every_parameter_has_a_schedule_group():
    model = build_model("synergynet", **TINY)
    groups = model.parameter_groups()
    assert set(groups) == set(PARAMETER_GROUPS)
    assert sum(len(v) for v in groups.values()) == len(list(model.parameters()))
    assert all(groups[g] for g in groups)


def test_loss_terms_switch_on_stage_by_stage():
    torch.manual_seed(0)
    x, y = _blob((12, 12, 12))
    model = build_model("synergynet", **TINY)
    schedule = StagedSchedule(stage_epochs=(1, 1, 1, 1))
    seen = []
    for epoch in range(4):
        stage = schedule.stage_at(epoch)
        losses = model.forward_train(x, y, stage.loss_terms)
        assert set(losses) == set(stage.loss_terms)
        assert all(torch.isfinite(v) for v in losses.values())
        seen.append(len(losses))
    assert seen == [2, 4, 5, 6]
    alone = build_model("maskrcnn3d", **TINY).forward_train(x, y)  # all terms asked for
    assert "seg" not in alone and len(alone) == 5


def test_tiny_synergynet_overfits_one_volume():
    torch.manual_seed(0)
    x, y = _blob()
    model = build_model("synergynet", **TINY)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    weights = LossWeights()
    history = []
    for _ in range(20):
        optimizer.zero_grad()
        losses = model.forward_train(x, y)
        total = weighted_total(losses, weights)
        total.backward()
        optimizer.step()
        history.append({k: v.item() for k, v in losses.items()} | {"total": total.item()})
    first, last = history[0], history[-1]
    assert last["total"] < 0.6 * first["total"]
    for term in ("rpn_cls", "rcnn_cls", "mask", "seg"):
        assert last[term] < first[term], term
    model.eval()
    with torch.no_grad():
        pred = (model(x) > 0).float()
    dice = float(2 * (pred * y).sum() / (pred.sum() + y.sum()))
    assert dice > 0.2
