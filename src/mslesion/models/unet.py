"""3D U-Net with plain (double conv) or residual blocks.

``resunet3d`` is SynergyNet's global branch: a U-Net whose convolutions are residual blocks,
exposing its decoder feature maps by name (``forward_features``) for the Mask R-CNN branch.

Any input size works: the input is zero-padded at the END of each axis to a multiple of
``2**depth`` inside the model and the outputs are cropped back (see
:func:`mslesion.models.blocks.pad_to_multiple`).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from mslesion.models.blocks import (
    DoubleConv3d,
    NormSpec,
    ResidualBlock3d,
    crop_to,
    pad_to_multiple,
    prior_logit_head,
)
from mslesion.models.registry import register_model

BlockKind = Literal["plain", "residual"]


def make_stage(
    kind: BlockKind, in_channels: int, out_channels: int, *, norm: NormSpec, dropout: float
) -> nn.Module:
    """One U-Net stage at a fixed resolution: (B, Cin, ...) -> (B, Cout, ...)."""
    if kind == "plain":
        return DoubleConv3d(in_channels, out_channels, norm=norm, dropout=dropout)
    if kind == "residual":
        return ResidualBlock3d(in_channels, out_channels, norm=norm, dropout=dropout)
    raise ValueError(f"unknown block {kind!r}; choose 'plain' or 'residual'")


def stage_widths(base_channels: int, depth: int, max_channels: int) -> list[int]:
    """Channels per resolution level 0 (full) .. depth (bottleneck): base * 2**level, capped."""
    return [min(base_channels * 2**level, max_channels) for level in range(depth + 1)]


class UNetEncoder(nn.Module):
    """Stages at levels 0..depth, 2x max pooling between; returns every level's features.

    Input (B, Cin, X, Y, Z) with X, Y, Z multiples of 2**depth; output list where entry
    ``level`` is (B, widths[level], X/2**level, Y/2**level, Z/2**level).
    """

    def __init__(
        self,
        in_channels: int,
        widths: list[int],
        *,
        block: BlockKind,
        norm: NormSpec,
        dropout: float,
    ) -> None:
        super().__init__()
        ins = [in_channels, *widths[:-1]]
        self.stages = nn.ModuleList(
            make_stage(block, cin, cout, norm=norm, dropout=dropout)
            for cin, cout in zip(ins, widths, strict=True)
        )
        self.pool = nn.MaxPool3d(2)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for level, stage in enumerate(self.stages):
            if level > 0:
                x = self.pool(x)
            x = stage(x)
            features.append(x)
        return features


class UNetDecoder(nn.Module):
    """Transposed-conv upsampling + skip concatenation + stage, from level depth-1 to 0.

    Takes the encoder's feature list; returns decoder maps ordered fine to coarse:
    entry ``level`` is (B, widths[level], X/2**level, ...) for level 0..depth-1.
    """

    def __init__(
        self, widths: list[int], *, block: BlockKind, norm: NormSpec, dropout: float
    ) -> None:
        super().__init__()
        levels = range(len(widths) - 2, -1, -1)  # depth-1 .. 0
        self.up = nn.ModuleList(
            nn.ConvTranspose3d(widths[lv + 1], widths[lv], kernel_size=2, stride=2) for lv in levels
        )
        self.stages = nn.ModuleList(
            make_stage(block, 2 * widths[lv], widths[lv], norm=norm, dropout=dropout)
            for lv in levels
        )

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        x = features[-1]
        outputs = []
        for up, stage, skip in zip(self.up, self.stages, reversed(features[:-1]), strict=True):
            x = stage(torch.cat([up(x), skip], dim=1))
            outputs.append(x)
        return outputs[::-1]


class UNet3d(nn.Module):
    """3D U-Net: (B, in_channels, X, Y, Z) float -> logits (B, out_channels, X, Y, Z).

    ``depth`` is the number of 2x downsamplings (widths base * 2**level, capped at
    ``max_channels``); ``block`` chooses double-conv ("plain") or residual stages;
    ``dropout`` (Dropout3d after each stage's first conv) also enables MC-dropout.
    ``feature_channels`` gives the channels of the decoder maps returned by
    :meth:`forward_features`.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        base_channels: int = 32,
        depth: int = 4,
        norm: str = "batch",
        dropout: float = 0.0,
        block: BlockKind = "plain",
        max_channels: int = 512,
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.depth = depth
        widths = stage_widths(base_channels, depth, max_channels)
        self.encoder = UNetEncoder(in_channels, widths, block=block, norm=norm, dropout=dropout)
        self.decoder = UNetDecoder(widths, block=block, norm=norm, dropout=dropout)
        self.head = prior_logit_head(widths[0], out_channels)
        # d1 is full resolution, d2 half, d3 quarter (only those the depth provides).
        self.feature_channels = {f"d{lv + 1}": widths[lv] for lv in range(min(depth, 3))}

    def forward_features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits and named decoder maps, all cropped to the input's extent.

        Returns ``{"logits": (B, out, X, Y, Z), "d1": (B, c1, X, Y, Z),
        "d2": (B, c2, ceil(X/2), ...), "d3": (B, c3, ceil(X/4), ...)}`` (d2/d3 only when
        ``depth`` >= 2/3). Voxel i of d_k covers input voxels [i*2**(k-1), (i+1)*2**(k-1)).
        """
        padded, size = pad_to_multiple(x, 2**self.depth)
        decoded = self.decoder(self.encoder(padded))
        out = {"logits": crop_to(self.head(decoded[0]), size)}
        for level in range(min(self.depth, 3)):
            out[f"d{level + 1}"] = crop_to(decoded[level], size, scale=2**level)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded, size = pad_to_multiple(x, 2**self.depth)
        return crop_to(self.head(self.decoder(self.encoder(padded))[0]), size)


register_model(
    "unet3d", "Plain 3D U-Net baseline (double conv stages, widths 32..512)", block="plain"
)(UNet3d)
register_model(
    "resunet3d",
    "Residual 3D U-Net, SynergyNet's global branch; exposes decoder maps d1/d2/d3",
    block="residual",
)(UNet3d)
register_model(
    "unet3d-small",
    "Compact plain 3D U-Net (widths 8..128) for fast CPU inference",
    block="plain",
    base_channels=8,
)(UNet3d)
register_model(
    "resunet3d-small",
    "Compact residual 3D U-Net (widths 8..128) for fast CPU inference",
    block="residual",
    base_channels=8,
)(UNet3d)
