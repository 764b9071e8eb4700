"""3D building blocks shared by the U-Nets, F.sh 3DR2AUNet and SynergyNet.

Every block takes its normalisation and activation as keyword-only arguments, so a network
chooses them once and passes them down (the dynamic-network-architectures habit):

* ``norm``: ``"batch"`` | ``"instance"`` | ``"group"`` | ``"none"``, or any callable
  ``channels -> nn.Module``;
* ``act``: a zero-argument callable returning the activation module (default ReLU).

Tensors are (B, C, X, Y, Z) throughout.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

NormSpec = str | Callable[[int], nn.Module]
ActFactory = Callable[[], nn.Module]

relu: ActFactory = partial(nn.ReLU, inplace=True)

NORMS = ("batch", "instance", "group", "none")


def make_norm(norm: NormSpec, channels: int) -> nn.Module:
    """A normalisation layer over ``channels`` feature maps."""
    if callable(norm):
        return norm(channels)
    if norm == "batch":
        return nn.BatchNorm3d(channels)
    if norm == "instance":
        return nn.InstanceNorm3d(channels, affine=True)
    if norm == "group":
        # Up to 8 groups, but always a divisor of `channels` so tiny test widths still work.
        groups = max(g for g in range(1, 9) if channels % g == 0)
        return nn.GroupNorm(groups, channels)
    if norm == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {norm!r}; choose one of {', '.join(NORMS)}")


class ConvNormAct3d(nn.Sequential):
    """Conv3d -> norm -> activation (-> Dropout3d when ``dropout > 0``); 'same' padding.

    (B, in_channels, X, Y, Z) -> (B, out_channels, X/stride, Y/stride, Z/stride).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        kernel_size: int = 3,
        stride: int = 1,
        norm: NormSpec = "batch",
        act: ActFactory | None = relu,
        dropout: float = 0.0,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv3d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=kernel_size // 2,
                # A bias right before a normalisation layer is cancelled by its mean.
                bias=norm == "none",
            ),
            make_norm(norm, out_channels),
        ]
        if act is not None:
            layers.append(act())
        if dropout > 0:
            layers.append(nn.Dropout3d(dropout))
        super().__init__(*layers)


class ResidualBlock3d(nn.Module):
    """Two 3x3x3 conv-norm layers with an identity (or 1x1x1-projected) shortcut.

    out = act(norm(conv(act(norm(conv(x))))) + shortcut(x)); (B, Cin, X, Y, Z) ->
    (B, Cout, X/stride, Y/stride, Z/stride). The shortcut is projected (1x1x1 conv + norm)
    when channels or stride change.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        stride: int = 1,
        norm: NormSpec = "batch",
        act: ActFactory = relu,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.conv1 = ConvNormAct3d(
            in_channels, out_channels, stride=stride, norm=norm, act=act, dropout=dropout
        )
        self.conv2 = ConvNormAct3d(out_channels, out_channels, norm=norm, act=None)
        self.shortcut: nn.Module = nn.Identity()
        if in_channels != out_channels or stride != 1:
            self.shortcut = ConvNormAct3d(
                in_channels, out_channels, kernel_size=1, stride=stride, norm=norm, act=None
            )
        self.act = act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv2(self.conv1(x)) + self.shortcut(x))


class DoubleConv3d(nn.Sequential):
    """The plain U-Net stage: two ConvNormAct3d; (B, Cin, X, Y, Z) -> (B, Cout, X, Y, Z)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        norm: NormSpec = "batch",
        act: ActFactory = relu,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(
            ConvNormAct3d(in_channels, out_channels, norm=norm, act=act, dropout=dropout),
            ConvNormAct3d(out_channels, out_channels, norm=norm, act=act),
        )


class RecurrentConv3d(nn.Module):
    """Recurrent convolution: ONE conv-norm-act unit ``f`` applied ``t`` times.

    x_1 = f(x); x_{k+1} = f(x + x_k); returns x_t. The block input is re-added before every
    step, so the receptive field grows with ``t`` while the parameter count does not
    (t=1 and t=2 have identical parameters but different outputs). Shape-preserving:
    (B, C, X, Y, Z) -> (B, C, X, Y, Z).
    """

    def __init__(
        self,
        channels: int,
        *,
        t: int = 2,
        norm: NormSpec = "batch",
        act: ActFactory = relu,
    ) -> None:
        super().__init__()
        if t < 1:
            raise ValueError(f"t must be >= 1, got {t}")
        self.t = t
        self.unit = ConvNormAct3d(channels, channels, norm=norm, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.unit(x)
        for _ in range(self.t - 1):
            out = self.unit(x + out)
        return out


class R2Block3d(nn.Module):
    """R2CL (recurrent residual convolutional layer) of R2U-Net / 3DR2AUNet.

    y = conv1x1(x); out = RCU2(RCU1(y)) + y, where each RCU is a :class:`RecurrentConv3d`
    (conv + norm + ReLU, recurrence ``t``). (B, Cin, X, Y, Z) -> (B, Cout, X, Y, Z).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        t: int = 2,
        norm: NormSpec = "batch",
        act: ActFactory = relu,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        # The projection has a bias: it is not followed by a normalisation layer.
        self.project = nn.Conv3d(in_channels, out_channels, kernel_size=1)
        self.recurrent = nn.Sequential(
            RecurrentConv3d(out_channels, t=t, norm=norm, act=act),
            RecurrentConv3d(out_channels, t=t, norm=norm, act=act),
        )
        self.dropout = nn.Dropout3d(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(x)
        return self.dropout(self.recurrent(y) + y)


class AttentionGate3d(nn.Module):
    """Additive attention gate (Attention U-Net) on a skip connection.

    ``skip``: (B, Cs, X, Y, Z) encoder features; ``gate``: (B, Cg, X', Y', Z') features from
    the coarser decoder level (typically X' = ceil(X/2)). The skip is brought to the gate's
    grid by a 2x2x2 stride-2 conv, added to a 1x1x1 projection of the gate, passed through
    ReLU, a 1x1x1 conv to one channel and a sigmoid; the coefficients are resampled
    (trilinear) to the skip's grid and multiplied into the skip.

    ``forward`` returns ``(gated skip (B, Cs, X, Y, Z), coefficients (B, 1, X, Y, Z) in [0, 1])``.
    """

    def __init__(
        self,
        skip_channels: int,
        gate_channels: int,
        inter_channels: int | None = None,
        *,
        norm: NormSpec = "batch",
        act: ActFactory = relu,
    ) -> None:
        super().__init__()
        inter = inter_channels or max(1, skip_channels // 2)
        self.theta_skip = nn.Conv3d(skip_channels, inter, kernel_size=2, stride=2, bias=False)
        self.phi_gate = nn.Conv3d(gate_channels, inter, kernel_size=1)
        self.act = act()
        # Coefficients in [0, 1]: conv to one channel, norm, sigmoid.
        self.psi = ConvNormAct3d(inter, 1, kernel_size=1, norm=norm, act=nn.Sigmoid)

    def forward(self, skip: torch.Tensor, gate: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        theta = self.theta_skip(skip)
        phi = self.phi_gate(gate)
        if theta.shape[2:] != phi.shape[2:]:
            # Odd skip sizes: the stride-2 conv floors, the gate grid ceils; align them.
            phi = F.interpolate(phi, size=theta.shape[2:], mode="trilinear", align_corners=False)
        alpha = self.psi(self.act(theta + phi))
        alpha = F.interpolate(alpha, size=skip.shape[2:], mode="trilinear", align_corners=False)
        return skip * alpha, alpha


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int, int]]:
    """Zero-pad the END of each spatial axis of (B, C, X, Y, Z) up to a multiple of ``multiple``.

    Returns the padded tensor and the original spatial size. Padding only at the end keeps
    voxel i of a 1/2**k resolution map aligned with input voxels [i*2**k, (i+1)*2**k), so
    coarse decoder maps are cropped with :func:`crop_to` using ``ceil(size / 2**k)``.
    """
    size = tuple(int(s) for s in x.shape[2:])
    target = [math.ceil(s / multiple) * multiple for s in size]
    if list(size) == target:
        return x, size  # type: ignore[return-value]
    # F.pad lists (last axis first) pairs of (before, after).
    pads: list[int] = []
    for s, t in zip(reversed(size), reversed(target), strict=True):
        pads += [0, t - s]
    return F.pad(x, pads), size  # type: ignore[return-value]


def crop_to(x: torch.Tensor, size: tuple[int, ...], scale: int = 1) -> torch.Tensor:
    """Crop (B, C, ...) to ``ceil(size / scale)`` voxels per spatial axis (undoes padding)."""
    keep = [math.ceil(s / scale) for s in size]
    return x[(..., *(slice(0, k) for k in keep))]


def prior_logit_head(
    in_channels: int, out_channels: int, foreground_prior: float = 0.01
) -> nn.Conv3d:
    """1x1x1 convolution to logits whose bias starts at ``logit(foreground_prior)``.

    Lesions are about 1 % of brain voxels. Adam moves a bias by roughly the learning rate per
    step, so a head starting at logit 0 (p = 0.5 everywhere) spends thousands of steps only
    learning that most voxels are background before the Dice term sees any signal.
    """
    head = nn.Conv3d(in_channels, out_channels, kernel_size=1)
    nn.init.constant_(head.bias, math.log(foreground_prior / (1.0 - foreground_prior)))
    return head
