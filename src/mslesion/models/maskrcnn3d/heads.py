"""R-CNN box head and mask head on ROI features pooled with :func:`roi_align3d`."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mslesion.models.maskrcnn3d.roi_align3d import roi_align3d


class BoxHead(nn.Module):
    """ROI features from d1 -> (K,) class logit and (K, 6) box deltas relative to the ROI.

    Args:
        in_channels: channels of d1.
        pool: cells per axis of the pooled ROI (``pool**3`` trilinear samples).
        hidden: width of the two fully connected layers.
    """

    def __init__(self, in_channels: int, pool: int = 5, hidden: int = 128) -> None:
        super().__init__()
        self.pool = pool
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_channels * pool**3, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
        )
        self.cls = nn.Linear(hidden, 1)
        self.reg = nn.Linear(hidden, 6)
        nn.init.normal_(self.reg.weight, std=0.001)
        nn.init.zeros_(self.reg.bias)

    def forward(
        self, d1: torch.Tensor, boxes: torch.Tensor, batch_index: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = roi_align3d(d1, boxes, batch_index, (self.pool,) * 3, 1.0)
        h = self.fc(pooled)
        return self.cls(h).squeeze(1), self.reg(h)


class MaskHead(nn.Module):
    """Multi-scale ROI features (d1, d2, d3) -> mask logits (K, 1, m, m, m).

    Each level is pooled on the same ``m**3`` cell grid (spatial scales 1, 1/2, 1/4), projected
    to ``hidden`` channels by a 1x1x1 conv, summed, then refined by two 3x3x3 convs.
    """

    def __init__(self, level_channels: Sequence[int], pool: int = 12, hidden: int = 32) -> None:
        super().__init__()
        self.pool = pool
        self.scales = [1.0 / 2**level for level in range(len(level_channels))]
        self.project = nn.ModuleList(nn.Conv3d(c, hidden, 1) for c in level_channels)
        self.refine = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.Conv3d(hidden, hidden, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv3d(hidden, hidden, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv3d(hidden, 1, 1),
        )

    def forward(
        self, levels: Sequence[torch.Tensor], boxes: torch.Tensor, batch_index: torch.Tensor
    ) -> torch.Tensor:
        size = (self.pool,) * 3
        fused = None
        for features, scale, project in zip(levels, self.scales, self.project, strict=True):
            term = project(roi_align3d(features, boxes, batch_index, size, scale))
            fused = term if fused is None else fused + term
        assert fused is not None
        return self.refine(fused)
