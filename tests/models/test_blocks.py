"""Unit tests of the 3D building blocks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mslesion.models.blocks import (
    AttentionGate3d,
    ConvNormAct3d,
    R2Block3d,
    RecurrentConv3d,
    ResidualBlock3d,
    crop_to,
    make_norm,
    pad_to_multiple,
)
from mslesion.models.registry import count_parameters


@pytest.fixture
def x() -> torch.Tensor:
    torch.manual_seed(0)
    return torch.randn(2, 3, 9, 11, 7)


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("batch", nn.BatchNorm3d),
        ("instance", nn.InstanceNorm3d),
        ("group", nn.GroupNorm),
        ("none", nn.Identity),
    ],
)
def test_make_norm_kinds(kind: str, cls: type) -> None:
    assert isinstance(make_norm(kind, 6), cls)


def test_make_norm_group_divides_channels_and_rejects_unknown() -> None:
    for channels in (1, 4, 6, 12, 20):
        norm = make_norm("group", channels)
        assert channels % norm.num_groups == 0
    assert make_norm(lambda c: nn.LayerNorm(c), 5).normalized_shape == (5,)
    with pytest.raises(ValueError, match="unknown norm"):
        make_norm("layer", 4)


def test_conv_norm_act_shapes_and_stride(x: torch.Tensor) -> None:
    assert ConvNormAct3d(3, 5)(x).shape == (2, 5, 9, 11, 7)
    assert ConvNormAct3d(3, 5, stride=2)(x).shape == (2, 5, 5, 6, 4)
    out = ConvNormAct3d(3, 5, act=nn.ReLU)(x)
    assert (out >= 0).all()
    # No bias before a norm layer, a bias without one.
    assert ConvNormAct3d(3, 5)[0].bias is None
    assert ConvNormAct3d(3, 5, norm="none")[0].bias is not None


def test_residual_block_identity_shortcut(x: torch.Tensor) -> None:
    block = ResidualBlock3d(3, 3).eval()
    assert isinstance(block.shortcut, nn.Identity)
    # With the second norm's scale and shift at zero, only the shortcut remains: relu(x).
    nn.init.zeros_(block.conv2[1].weight)
    nn.init.zeros_(block.conv2[1].bias)
    torch.testing.assert_close(block(x), torch.relu(x))


def test_residual_block_projects_when_shape_changes(x: torch.Tensor) -> None:
    block = ResidualBlock3d(3, 8, stride=2)
    assert not isinstance(block.shortcut, nn.Identity)
    assert block(x).shape == (2, 8, 5, 6, 4)


def test_recurrent_conv_recurs_with_shared_weights(x: torch.Tensor) -> None:
    torch.manual_seed(1)
    rc1 = RecurrentConv3d(3, t=1).eval()
    rc2 = RecurrentConv3d(3, t=2).eval()
    rc3 = RecurrentConv3d(3, t=3).eval()
    rc2.load_state_dict(rc1.state_dict())
    rc3.load_state_dict(rc1.state_dict())
    assert count_parameters(rc1) == count_parameters(rc2) == count_parameters(rc3)
    with torch.no_grad():
        y1, y2, y3 = rc1(x), rc2(x), rc3(x)
        f = rc1.unit
        # The definition: x1 = f(x), x2 = f(x + x1), x3 = f(x + x2).
        torch.testing.assert_close(y1, f(x))
        torch.testing.assert_close(y2, f(x + f(x)))
        torch.testing.assert_close(y3, f(x + f(x + f(x))))
    assert not torch.allclose(y1, y2)
    assert not torch.allclose(y2, y3)
    with pytest.raises(ValueError):
        RecurrentConv3d(3, t=0)


def test_r2_block_residual_is_the_projection(x: torch.Tensor) -> None:
    block = R2Block3d(3, 6, t=2).eval()
    assert block.project.kernel_size == (1, 1, 1)
    assert block(x).shape == (2, 6, 9, 11, 7)
    # Zero the recurrent convs: each unit outputs relu(BN(0)) = 0 (eval, zero shift), so the
    # block reduces to its 1x1x1-projected residual.
    for module in block.recurrent.modules():
        if isinstance(module, nn.Conv3d):
            nn.init.zeros_(module.weight)
    with torch.no_grad():
        torch.testing.assert_close(block(x), block.project(x))


def test_r2_block_t_changes_output_not_parameters(x: torch.Tensor) -> None:
    torch.manual_seed(2)
    a = R2Block3d(3, 4, t=1).eval()
    b = R2Block3d(3, 4, t=2).eval()
    b.load_state_dict(a.state_dict())
    assert count_parameters(a) == count_parameters(b)
    with torch.no_grad():
        assert not torch.allclose(a(x), b(x))


@pytest.mark.parametrize(
    ("skip_size", "gate_size"), [((8, 10, 6), (4, 5, 3)), ((9, 11, 7), (5, 6, 4))]
)
def test_attention_gate_coefficients(skip_size: tuple, gate_size: tuple) -> None:
    torch.manual_seed(3)
    gate_module = AttentionGate3d(6, 10, 4).train()
    skip = torch.randn(2, 6, *skip_size)
    gate = torch.randn(2, 10, *gate_size)
    with torch.no_grad():
        gated, alpha = gate_module(skip, gate)
    assert alpha.shape == (2, 1, *skip_size)
    assert gated.shape == skip.shape
    assert float(alpha.min()) >= 0.0
    assert float(alpha.max()) <= 1.0
    assert float(alpha.std()) > 0  # really spatially varying, not a constant
    torch.testing.assert_close(gated, skip * alpha)


def test_attention_gate_depends_on_gating_signal() -> None:
    torch.manual_seed(4)
    gate_module = AttentionGate3d(4, 8).eval()
    skip = torch.randn(1, 4, 8, 8, 8)
    with torch.no_grad():
        _, a1 = gate_module(skip, torch.randn(1, 8, 4, 4, 4))
        _, a2 = gate_module(skip, torch.randn(1, 8, 4, 4, 4))
    assert not torch.allclose(a1, a2)


def test_pad_and_crop_round_trip() -> None:
    x = torch.randn(1, 2, 19, 23, 16)
    padded, size = pad_to_multiple(x, 8)
    assert padded.shape == (1, 2, 24, 24, 16)
    assert size == (19, 23, 16)
    torch.testing.assert_close(crop_to(padded, size), x)
    assert float(padded[:, :, 19:].abs().sum()) == 0.0  # padding is zeros, at the end
    half = torch.randn(1, 2, 12, 12, 8)
    assert crop_to(half, size, scale=2).shape == (1, 2, 10, 12, 8)
    same, _ = pad_to_multiple(torch.randn(1, 1, 16, 16, 16), 16)
    assert same.shape == (1, 1, 16, 16, 16)


def test_prior_logit_head_starts_at_the_foreground_prior() -> None:
    from mslesion.models.blocks import prior_logit_head

    head = prior_logit_head(4, 1, foreground_prior=0.02)
    out = torch.sigmoid(head(torch.zeros(1, 4, 3, 3, 3)))
    assert torch.allclose(out, torch.full_like(out, 0.02), atol=1e-6)
