"""SynergyNet: residual 3D U-Net (global view) + 3D Mask R-CNN branch (local view), fused.

The U-Net produces logits ``Yu`` (B, 1, X, Y, Z) and decoder maps d1, d2, d3; the branch
detects small lesions on them and predicts a mask patch ``Ym`` per detection, which is
pasted into ``Yu`` at the detection's box as ``Yu = gamma * Ym + (1 - gamma) * Yu``
(gamma = 0.3). Registered models:

* ``"synergynet"``: the fused model (eval ``forward`` returns the fused logits).
* ``"maskrcnn3d"``: the same network with the masks pasted into an empty logit volume
  (``EMPTY_LOGIT`` everywhere, gamma = 1): Mask R-CNN alone.
* ``"ensemble-unet-maskrcnn"``: a plain U-Net and a Mask R-CNN trained separately, their
  probabilities averaged (see :func:`ensemble_from_members`).

All accept any spatial size (the U-Net pads internally) and ``base_channels`` for tiny models.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from mslesion.models.maskrcnn3d.anchors import AnchorConfig
from mslesion.models.maskrcnn3d.box_ops import box_volume
from mslesion.models.maskrcnn3d.losses import LOSS_TERMS, segmentation_dice_loss
from mslesion.models.maskrcnn3d.model import BranchConfig, Detections, MaskRCNNBranch
from mslesion.models.maskrcnn3d.rpn import RPNConfig
from mslesion.models.maskrcnn3d.targets import instance_targets
from mslesion.models.registry import build_model, model_config, register_model
from mslesion.models.unet import UNet3d

EMPTY_LOGIT = -10.0  # "no lesion" logit of the empty volume Mask R-CNN alone pastes into
Fusion = Literal["blend", "empty"]

# Parameter groups of the staged schedule (see mslesion.train.schedule), by name prefix.
PARAMETER_GROUPS: dict[str, tuple[str, ...]] = {
    "backbone": ("unet.encoder.", "unet.decoder."),
    "rpn": ("branch.rpn.",),
    "rcnn": ("branch.box_head.",),
    "mask": ("branch.mask_head.",),
    "unet_head": ("unet.head.",),
}


def paste_and_fuse(
    base: torch.Tensor,
    patches: torch.Tensor,
    boxes: torch.Tensor,
    batch_index: torch.Tensor,
    gamma: float,
) -> torch.Tensor:
    """Blend each mask patch into the logit map at its box: ``gamma * Ym + (1 - gamma) * Yu``.

    Args:
        base: U-Net logits Yu, (B, 1, X, Y, Z).
        patches: mask logits Ym, (K, 1, m0, m1, m2), each covering its box exactly.
        boxes: (K, 6) corner boxes in voxels (voxel i spans [i, i+1)).
        batch_index: (K,) image of each patch.
        gamma: weight of the patch (0 leaves Yu unchanged, 1 replaces it inside the box).

    The voxels whose centres fall inside a box are updated; the patch is resampled to them
    trilinearly (exact copy when the box is on the voxel grid and m equals its size).
    Overlapping boxes are blended one after the other in the given order. Differentiable
    with respect to ``base`` and ``patches``. Returns a new tensor.
    """
    fused = base.clone()
    shape = base.shape[2:]
    for k in range(boxes.shape[0]):
        box = boxes[k].detach()
        # Voxel v is inside when its centre v + 0.5 lies in [lo, hi).
        start = torch.ceil(box[:3] - 0.5).long().clamp(min=0)
        stop = torch.ceil(box[3:] - 0.5).long()
        stop = torch.minimum(stop, torch.tensor(list(shape), device=stop.device))
        if bool((stop <= start).any()):
            continue
        axes = []
        for a in range(3):
            centres = (
                torch.arange(int(start[a]), int(stop[a]), device=base.device, dtype=base.dtype)
                + 0.5
            )
            axes.append(2.0 * (centres - box[a]) / (box[a + 3] - box[a]) - 1.0)
        grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).flip(-1)[None]
        ym = nn.functional.grid_sample(
            patches[k : k + 1],
            grid.to(patches.dtype),
            mode="bilinear",
            padding_mode="border",
            align_corners=False,
        )[0]
        region = (
            int(batch_index[k]),
            slice(None),
            *(slice(int(s), int(e)) for s, e in zip(start, stop, strict=True)),
        )
        fused[region] = gamma * ym + (1.0 - gamma) * fused[region].clone()
    return fused


class SynergyNet(nn.Module):
    """Residual U-Net + Mask R-CNN branch with logit fusion.

    ``forward(x: (B, in_channels, X, Y, Z)) -> fused logits (B, 1, X, Y, Z)`` in any mode;
    ``forward_train(x, truth, active)`` returns the active loss terms (unweighted).

    Args:
        base_channels, depth, norm, dropout: of the residual U-Net (depth >= 3 for d3).
        gamma: fusion weight of the mask patches.
        fusion: ``"blend"`` (SynergyNet) or ``"empty"`` (Mask R-CNN alone: paste into an
            empty volume with gamma 1; the U-Net head and the ``seg`` term are unused).
        max_box_volume: only lesions whose truth box is smaller (voxels) train the branch.
        anchor_sizes, anchor_ratios: see :class:`~mslesion.models.maskrcnn3d.anchors.AnchorConfig`.
        score_threshold, max_detections: detections that get pasted.
        mask_pool: mask patch edge m (voxels of the patch grid).
    """

    def __init__(
        self,
        in_channels: int = 1,
        base_channels: int = 16,
        depth: int = 4,
        norm: str = "batch",
        dropout: float = 0.0,
        gamma: float = 0.3,
        fusion: Fusion = "blend",
        max_box_volume: float = 1500.0,
        anchor_sizes: tuple[float, ...] = (3.0, 6.0, 10.0),
        anchor_ratios: tuple[float, ...] = (0.5, 1.0, 2.0),
        score_threshold: float = 0.5,
        max_detections: int = 50,
        mask_pool: int = 12,
    ) -> None:
        super().__init__()
        if depth < 3:
            raise ValueError("SynergyNet needs depth >= 3 (decoder maps d1, d2, d3)")
        if fusion not in ("blend", "empty"):
            raise ValueError(f"fusion must be 'blend' or 'empty', got {fusion!r}")
        self.gamma = float(gamma)
        self.fusion = fusion
        self.max_box_volume = float(max_box_volume)
        self.unet = UNet3d(
            in_channels=in_channels,
            out_channels=1,
            base_channels=base_channels,
            depth=depth,
            norm=norm,
            dropout=dropout,
            block="residual",
        )
        if fusion == "empty":
            # Mask R-CNN alone never reads the U-Net's logit head: freeze it so that DDP and
            # the optimiser do not see parameters without gradients.
            self.unet.head.requires_grad_(False)
        channels = [self.unet.feature_channels[k] for k in ("d1", "d2", "d3")]
        anchors = AnchorConfig(sizes=tuple(anchor_sizes), ratios=tuple(anchor_ratios))
        config = BranchConfig(
            rpn=RPNConfig(anchors=anchors),
            score_threshold=score_threshold,
            max_detections=max_detections,
            mask_pool=mask_pool,
        )
        self.branch = MaskRCNNBranch(channels, config)
        # Lesions are ~1% of the brain: start the U-Net's logits near that prior (as the RPN's
        # objectness) so the Dice term does not spend its first epochs on the background.
        nn.init.constant_(self.unet.head.bias, -4.0)

    def fuse(self, features: dict[str, torch.Tensor], detections: Detections) -> torch.Tensor:
        """Paste the mask patches of ``detections`` into the U-Net logits (or an empty map)."""
        if self.fusion == "blend":
            base, gamma = features["logits"], self.gamma
        else:
            base, gamma = torch.full_like(features["logits"], EMPTY_LOGIT), 1.0
        if detections.boxes.numel() == 0:
            return base
        patches = self.branch.masks(features, detections.boxes, detections.batch_index)
        return paste_and_fuse(base, patches, detections.boxes, detections.batch_index, gamma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.unet.forward_features(x)
        return self.fuse(features, self.branch.detect(features))

    def forward_train(
        self, x: torch.Tensor, truth: torch.Tensor, active: frozenset[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Loss terms for image ``x`` (B, C, X, Y, Z) and binary ``truth`` (B, 1, X, Y, Z).

        ``active`` (default: all of ``LOSS_TERMS``) limits the work to the terms the
        current training stage uses; ``seg`` is never produced for ``fusion="empty"``.
        """
        active = frozenset(LOSS_TERMS if active is None else active)
        features = self.unet.forward_features(x)
        targets = [
            instance_targets(truth[b, 0], max_box_volume=self.max_box_volume, device=x.device)
            for b in range(x.shape[0])
        ]
        losses = self.branch.losses(features, targets, active)
        if "seg" in active and self.fusion == "blend":
            fused = self.fuse(features, self.branch.detect(features))
            losses["seg"] = segmentation_dice_loss(fused, truth)
        return losses

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameters by schedule group (``PARAMETER_GROUPS``); every parameter in one group."""
        groups: dict[str, list[nn.Parameter]] = {g: [] for g in PARAMETER_GROUPS}
        for name, param in self.named_parameters():
            group = next(
                (g for g, prefixes in PARAMETER_GROUPS.items() if name.startswith(prefixes)), None
            )
            if group is None:
                raise RuntimeError(f"parameter {name} belongs to no schedule group")
            groups[group].append(param)
        return groups


def small_detection_volume(detections: Detections) -> torch.Tensor:
    """Box volumes (voxels) of detections, for reports."""
    return box_volume(detections.boxes)


class EnsembleUNetMaskRCNN(nn.Module):
    """Plain U-Net and Mask R-CNN trained separately; ``forward`` averages their probabilities.

    Returns logits (B, 1, X, Y, Z) of the mean probability (clamped to [1e-6, 1 - 1e-6]).
    """

    def __init__(
        self,
        in_channels: int = 1,
        base_channels: int = 16,
        depth: int = 4,
        norm: str = "batch",
        unet_block: str = "plain",
        maskrcnn_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.unet = UNet3d(in_channels, 1, base_channels, depth, norm, block=unet_block)  # type: ignore[arg-type]
        extra = {
            k: v for k, v in (maskrcnn_kwargs or {}).items() if k not in ("fusion", "in_channels")
        }
        extra = {"base_channels": base_channels, "depth": depth, "norm": norm, **extra}
        self.maskrcnn = SynergyNet(in_channels, fusion="empty", **extra)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        prob = 0.5 * (torch.sigmoid(self.unet(x)) + torch.sigmoid(self.maskrcnn(x)))
        return torch.logit(prob.clamp(1e-6, 1 - 1e-6))


def ensemble_from_members(unet: nn.Module, maskrcnn: nn.Module) -> nn.Module:
    """Registry-built ensemble holding copies of two trained members (built by ``build_model``).

    ``unet`` must be a ``"unet3d"``/``"resunet3d"`` model and ``maskrcnn`` a ``"maskrcnn3d"``
    model; each member keeps its own constructor arguments.
    """
    u, m = model_config(unet).kwargs, model_config(maskrcnn).kwargs
    model = build_model(
        "ensemble-unet-maskrcnn",
        base_channels=u.get("base_channels", 32),
        depth=u.get("depth", 4),
        norm=u.get("norm", "batch"),
        unet_block=u.get("block", "plain"),
        maskrcnn_kwargs=dict(m),
    )
    model.unet.load_state_dict(unet.state_dict())
    model.maskrcnn.load_state_dict(maskrcnn.state_dict())
    return model


register_model(
    "synergynet", "SynergyNet: residual U-Net + 3D Mask R-CNN branch, logits fused (gamma 0.3)"
)(SynergyNet)
register_model(
    "maskrcnn3d",
    "3D Mask R-CNN alone (on the residual U-Net's decoder), masks pasted into an empty map",
    fusion="empty",
)(SynergyNet)
register_model(
    "ensemble-unet-maskrcnn",
    "Ensemble: plain U-Net + Mask R-CNN trained separately, probabilities averaged",
)(EnsembleUNetMaskRCNN)
