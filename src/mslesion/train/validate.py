"""Whole-volume validation with MONAI sliding-window inference.

Per volume: logits over the brain's bounding box (the rest is background by construction),
validation loss on that box, then F.sh's voxel metrics (accuracy, sensitivity, specificity,
precision, F1/Dice, IoU) and lesion-wise TPR/FPR/F1 on the thresholded probability. Values are
averaged over volumes (each patient counts once).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext

import numpy as np
import torch
from torch import nn

from mslesion.data.dataset import VolumeData
from mslesion.infer.crop import brain_box
from mslesion.losses import BCEDiceLoss
from mslesion.train.config import ValidationConfig

# F.sh reports these voxel metrics; lesion TPR/FPR follow the MS literature.
VOXEL_KEYS = ("dice", "sensitivity", "specificity", "precision", "accuracy", "f1", "iou")
LESION_KEYS = ("lesion_tpr", "lesion_fpr", "lesion_f1", "n_true", "n_pred")


@torch.no_grad()
def predict_logits(
    model: nn.Module,
    image: np.ndarray,
    patch: Sequence[int],
    cfg: ValidationConfig,
    device: torch.device,
    amp_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Sliding-window logits (1, 1, X, Y, Z) float32 on the CPU for one (X, Y, Z) image."""
    from monai.inferers import sliding_window_inference

    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None].to(device)
    autocast = (
        torch.autocast(device.type, dtype=amp_dtype) if amp_dtype is not None else nullcontext()
    )
    with autocast:
        logits = sliding_window_inference(
            x,
            roi_size=tuple(int(p) for p in patch),
            sw_batch_size=cfg.sw_batch_size,
            predictor=model,
            overlap=cfg.overlap,
            mode=cfg.blend,
        )
    return logits.float().cpu()


def validate_volume(
    model: nn.Module,
    vol: VolumeData,
    patch: Sequence[int],
    cfg: ValidationConfig,
    loss_fn: BCEDiceLoss,
    device: torch.device,
    amp_dtype: torch.dtype | None = None,
) -> dict[str, float]:
    """Loss parts and metrics of one volume (bce, dice_loss, loss, VOXEL_KEYS, LESION_KEYS)."""
    from mslesion.metrics.lesion import lesion_metrics
    from mslesion.metrics.voxel import voxel_metrics

    brain = np.asarray(vol.brain)
    box = brain_box(brain, 4, patch) if cfg.crop_to_brain else tuple(slice(None) for _ in range(3))
    logits = predict_logits(model, np.asarray(vol.image[box]), patch, cfg, device, amp_dtype)
    truth = np.asarray(vol.mask[box]).astype(np.uint8)
    parts = loss_fn(logits, torch.from_numpy(truth.astype(np.float32))[None, None])
    pred_box = (torch.sigmoid(logits)[0, 0].numpy() >= cfg.threshold).astype(np.uint8)
    pred = np.zeros(brain.shape, dtype=np.uint8)
    pred[box] = pred_box
    full_truth = np.asarray(vol.mask).astype(np.uint8)
    vm = voxel_metrics(pred, full_truth, brain, vol.spacing, surface=False)
    lm = lesion_metrics(pred, full_truth, vol.spacing)
    out = {"bce": float(parts.bce), "dice_loss": float(parts.dice), "loss": float(parts.total)}
    out.update({k: float(vm[k]) for k in VOXEL_KEYS})
    out.update({k: float(lm[k]) for k in LESION_KEYS})
    return out


def validate(
    model: nn.Module,
    volumes: Sequence[VolumeData],
    patch: Sequence[int],
    cfg: ValidationConfig,
    loss_fn: BCEDiceLoss,
    device: torch.device,
    amp_dtype: torch.dtype | None = None,
) -> dict[str, float]:
    """Mean over ``volumes`` of :func:`validate_volume` (NaNs ignored); model left in eval mode."""
    model.eval()
    rows = [validate_volume(model, v, patch, cfg, loss_fn, device, amp_dtype) for v in volumes]
    if not rows:
        return {}
    return {
        k: float(np.nanmean([r[k] for r in rows]))
        if not all(np.isnan(r[k]) for r in rows)
        else float("nan")
        for k in rows[0]
    }
