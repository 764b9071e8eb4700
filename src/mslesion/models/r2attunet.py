"""F.sh 3DR2AUNet: a 3D recurrent-residual U-Net with attention-gated skip connections.

Layout (``depth`` = 4 by default, widths ``base_channels * 2**level``, i.e. 32..512):

* encoder: ``depth`` R2CL stages (:class:`~mslesion.models.blocks.R2Block3d`) at levels
  0..depth-1, each followed by 2x 3D max pooling;
* bridge: one R2CL stage at level ``depth`` (1/16 resolution by default);
* decoder: ``depth`` stages, each: trilinear 2x upsampling + conv-norm-ReLU, an
  :class:`~mslesion.models.blocks.AttentionGate3d` on the skip (gated by the coarser decoder
  map), concatenation and an R2CL stage;
* head: 1x1x1 conv to one lesion logit channel.

Defaults follow the method description (4 levels, widths 32..512, recurrence t=2, batch
norm). Dropout defaults to 0 (none is specified); set it for MC-dropout uncertainty.
Any input size works: the model zero-pads the end of each axis to a multiple of
``2**depth`` and crops the logits back.
"""

from __future__ import annotations

import torch
from torch import nn

from mslesion.models.blocks import (
    AttentionGate3d,
    ConvNormAct3d,
    NormSpec,
    R2Block3d,
    crop_to,
    pad_to_multiple,
    prior_logit_head,
)
from mslesion.models.registry import register_model
from mslesion.models.unet import stage_widths


class R2Encoder(nn.Module):
    """R2CL stages at levels 0..depth (the last is the bridge), 2x max pooling between.

    Returns one map per level: (B, widths[level], X/2**level, Y/2**level, Z/2**level).
    """

    def __init__(
        self, in_channels: int, widths: list[int], *, t: int, norm: NormSpec, dropout: float
    ) -> None:
        super().__init__()
        ins = [in_channels, *widths[:-1]]
        self.stages = nn.ModuleList(
            R2Block3d(cin, cout, t=t, norm=norm, dropout=dropout)
            for cin, cout in zip(ins, widths, strict=True)
        )
        self.pool = nn.MaxPool3d(2)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for level, stage in enumerate(self.stages):
            x = stage(self.pool(x) if level > 0 else x)
            features.append(x)
        return features


class AttentionDecoderStage(nn.Module):
    """Upsample the coarse map, gate the skip with it, concatenate, R2CL.

    ``coarse``: (B, Cc, X/2, ...); ``skip``: (B, Cs, X, ...) -> (B, Cs, X, ...).
    """

    def __init__(
        self,
        coarse_channels: int,
        skip_channels: int,
        *,
        t: int,
        norm: NormSpec,
        dropout: float,
    ) -> None:
        super().__init__()
        self.up = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="trilinear", align_corners=False),
            ConvNormAct3d(coarse_channels, skip_channels, norm=norm),
        )
        self.gate = AttentionGate3d(skip_channels, coarse_channels, skip_channels // 2, norm=norm)
        self.block = R2Block3d(2 * skip_channels, skip_channels, t=t, norm=norm, dropout=dropout)

    def forward(self, coarse: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        gated, _ = self.gate(skip, coarse)
        return self.block(torch.cat([gated, self.up(coarse)], dim=1))


class R2AttUNet3d(nn.Module):
    """F.sh 3DR2AUNet: (B, in_channels, X, Y, Z) float -> logits (B, out_channels, X, Y, Z).

    ``depth``: number of 2x downsamplings (encoder stages before the bridge); ``t``:
    recurrence of every recurrent conv unit; ``norm``: "batch" | "instance" | "group";
    ``dropout``: Dropout3d after every R2CL stage.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        base_channels: int = 32,
        depth: int = 4,
        t: int = 2,
        norm: str = "batch",
        dropout: float = 0.0,
        max_channels: int = 512,
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.depth = depth
        widths = stage_widths(base_channels, depth, max_channels)
        self.encoder = R2Encoder(in_channels, widths, t=t, norm=norm, dropout=dropout)
        self.decoder = nn.ModuleList(
            AttentionDecoderStage(widths[lv + 1], widths[lv], t=t, norm=norm, dropout=dropout)
            for lv in range(depth - 1, -1, -1)
        )
        self.head = prior_logit_head(widths[0], out_channels)

    def attention_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Attention coefficients of each decoder stage, coarse to fine, cropped to the input.

        Entry i is (B, 1, ceil(X / 2**(depth-1-i)), ...) with values in [0, 1].
        """
        padded, size = pad_to_multiple(x, 2**self.depth)
        features = self.encoder(padded)
        y = features[-1]
        maps = []
        for i, (stage, skip) in enumerate(zip(self.decoder, reversed(features[:-1]), strict=True)):
            _, alpha = stage.gate(skip, y)
            maps.append(crop_to(alpha, size, scale=2 ** (self.depth - 1 - i)))
            y = stage(y, skip)
        return maps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded, size = pad_to_multiple(x, 2**self.depth)
        features = self.encoder(padded)
        y = features[-1]
        for stage, skip in zip(self.decoder, reversed(features[:-1]), strict=True):
            y = stage(y, skip)
        return crop_to(self.head(y), size)


register_model(
    "r2attunet",
    "F.sh 3DR2AUNet: recurrent-residual 3D U-Net with attention gates (widths 32..512, t=2)",
)(R2AttUNet3d)
register_model(
    "r2attunet-small",
    "Compact 3DR2AUNet (widths 8..128, t=2) for fast CPU inference",
    base_channels=8,
)(R2AttUNet3d)
