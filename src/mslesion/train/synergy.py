"""A readable training loop for SynergyNet (and its baselines) with the staged schedule.

Inputs are z-scored FLAIR volumes (brain = non-zero voxels) cropped to ``crop_size``
(128x160x128 by default) around the volume centre with a random jitter and rotated by up to
+-15 degrees about the sagittal axis (array axis 0, left-right) with MONAI transforms.
Adam, lr 1e-3; loss = sum of alpha_t * term_t over the terms the current stage trains.

Entry point for ``mslesion train --recipe synergynet``: :func:`train_synergynet`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mslesion.errors import ConfigError, InputError
from mslesion.models.maskrcnn3d.losses import (
    LOSS_TERMS,
    LossWeights,
    segmentation_dice_loss,
    weighted_total,
)
from mslesion.train.schedule import StagedSchedule, set_trainable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SynergyTrainConfig:
    """Everything a SynergyNet training run needs (sizes in voxels, angles in degrees).

    ``model`` may be ``"synergynet"``, ``"maskrcnn3d"`` (stages 1-3 only) or any plain
    segmentation model such as ``"unet3d"`` (trained on the ``seg`` Dice term throughout).
    ``iterations_per_epoch`` = None means one pass over the training cases.
    """

    data: str | None = None
    model: str = "synergynet"
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    crop_size: tuple[int, int, int] = (128, 160, 128)
    jitter: int = 8
    rotate_degrees: float = 15.0
    lr: float = 1e-3
    alphas: tuple[float, ...] = (1.0, 1.0, 1.3, 1.0, 1.0, 5.0)
    stage_epochs: tuple[int, ...] = (30, 30, 40, 100)
    epoch_scale: float = 1.0
    iterations_per_epoch: int | None = None
    batch_size: int = 1
    val_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SynergyTrainConfig:
        """Build from a YAML/JSON section; unknown keys raise :class:`ConfigError`."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(
                f"synergynet config: unknown key(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        values = dict(d)
        for key in ("crop_size", "alphas", "stage_epochs"):
            if key in values:
                values[key] = tuple(values[key])
        if "model_kwargs" in values:
            values["model_kwargs"] = dict(values["model_kwargs"] or {})
        config = cls(**values)
        if len(config.crop_size) != 3 or len(config.alphas) != len(LOSS_TERMS):
            raise ConfigError(
                "synergynet config: crop_size needs 3 values and alphas 6 (alpha1..alpha6)"
            )
        return config

    def schedule(self) -> StagedSchedule:
        only = frozenset(LOSS_TERMS) - {"seg"} if self.model == "maskrcnn3d" else None
        return StagedSchedule(
            stage_epochs=self.stage_epochs, scale=self.epoch_scale, only_terms=only
        )


@dataclass(frozen=True)
class TrainingVolume:
    """One z-scored FLAIR (X, Y, Z) float32 with its binary lesion mask (X, Y, Z) uint8."""

    case_id: str
    image: np.ndarray
    mask: np.ndarray


# ------------------------------------------------------------------------- data
def load_volumes(data: str | Path) -> list[TrainingVolume]:
    """Cases found under ``data`` (any layout :func:`find_cases` knows), z-scored in the brain."""
    from mslesion.io.datasets import find_cases
    from mslesion.io.nifti import load_mask, load_volume
    from mslesion.preprocess.intensity import zscore_normalize

    volumes = []
    for case in find_cases(data):
        if case.lesion_mask is None:
            continue  # nothing to learn from without a truth mask
        flair = load_volume(case.flair)
        mask = load_mask(case.lesion_mask, reference=flair)
        brain = load_mask(case.brain_mask, reference=flair).data > 0 if case.brain_mask else None
        image, _ = zscore_normalize(flair.data, brain)
        volumes.append(TrainingVolume(case.case_id, image, mask.data))
    if not volumes:
        raise InputError(data, "no case with a lesion mask to train on")
    return volumes


def crop_sample(
    volume: TrainingVolume, config: SynergyTrainConfig, rng: np.random.Generator | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, *crop) image and mask tensors: centre crop (+ jitter and rotation when ``rng``)."""
    from monai.transforms import Rotate, SpatialCrop, SpatialPad

    shape = np.array(volume.image.shape)
    centre = shape // 2
    if rng is not None and config.jitter > 0:
        centre = centre + rng.integers(-config.jitter, config.jitter + 1, size=3)
    crop = SpatialCrop(roi_center=centre.tolist(), roi_size=list(config.crop_size))
    pad = SpatialPad(spatial_size=list(config.crop_size))
    image = pad(crop(torch.from_numpy(volume.image)[None]))
    mask = pad(crop(torch.from_numpy(volume.mask.astype(np.float32))[None]))
    if rng is not None and config.rotate_degrees > 0:
        # Angle about array axis 0 (left-right in RAS/LAS): a rotation in the sagittal plane.
        angle = math.radians(float(rng.uniform(-config.rotate_degrees, config.rotate_degrees)))
        image = Rotate((angle, 0.0, 0.0), keep_size=True, mode="bilinear", padding_mode="zeros")(
            image
        )
        mask = Rotate((angle, 0.0, 0.0), keep_size=True, mode="nearest", padding_mode="zeros")(mask)
    return torch.as_tensor(image).float(), (torch.as_tensor(mask) > 0.5).float()


def split_volumes(
    volumes: Sequence[TrainingVolume], val_fraction: float, seed: int
) -> tuple[list[TrainingVolume], list[TrainingVolume]]:
    """Random train/validation split by case (at least one training case)."""
    order = np.random.default_rng(seed).permutation(len(volumes))
    n_val = min(len(volumes) - 1, int(round(val_fraction * len(volumes))))
    val = [volumes[i] for i in order[:n_val]]
    return [volumes[i] for i in order[n_val:]], val


# ------------------------------------------------------------------------- steps
def model_losses(
    model: nn.Module, image: torch.Tensor, truth: torch.Tensor, active: frozenset[str]
) -> dict[str, torch.Tensor]:
    """Loss terms of a SynergyNet-like model (``forward_train``) or a plain segmenter (Dice)."""
    if hasattr(model, "forward_train"):
        return model.forward_train(image, truth, active)
    return {"seg": segmentation_dice_loss(model(image), truth)}


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    image: torch.Tensor,
    truth: torch.Tensor,
    active: frozenset[str],
    weights: LossWeights,
) -> dict[str, float]:
    """One optimisation step on a batch (B, 1, X, Y, Z); returns the loss values."""
    model.train()
    optimizer.zero_grad(set_to_none=True)
    losses = model_losses(model, image, truth, active)
    total = weighted_total(losses, weights, active)
    total.backward()
    optimizer.step()
    return {"total": float(total.detach()), **{k: float(v.detach()) for k, v in losses.items()}}


@torch.no_grad()
def validation_dice(
    model: nn.Module,
    volumes: Sequence[TrainingVolume],
    config: SynergyTrainConfig,
    device: torch.device,
) -> float:
    """Mean Dice (threshold 0.5) of the model's output on the centre crops of ``volumes``."""
    model.eval()
    scores = []
    for vol in volumes:
        image, truth = crop_sample(vol, config, None)
        pred = (model(image[None].to(device)) > 0).float().cpu()[0]
        inter = float((pred * truth).sum())
        denom = float(pred.sum() + truth.sum())
        scores.append(1.0 if denom == 0 else 2 * inter / denom)
    return float(np.mean(scores)) if scores else float("nan")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


# ------------------------------------------------------------------------- loop
def train_on_volumes(
    config: SynergyTrainConfig,
    train: Sequence[TrainingVolume],
    val: Sequence[TrainingVolume],
    run_dir: str | Path | None = None,
) -> tuple[nn.Module, list[dict[str, Any]]]:
    """Train ``config.model`` through the staged schedule; returns (best model, history).

    With ``run_dir``, writes ``last.pt``, ``best.pt`` (best validation Dice within the final
    stage; the last epoch when there is no validation set) and ``history.jsonl``.
    """
    from mslesion.models import build_model
    from mslesion.models.checkpoint import make_checkpoint, save_checkpoint

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    device = resolve_device(config.device)
    model = build_model(config.model, **config.model_kwargs).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    schedule = (
        config.schedule()
        if hasattr(model, "forward_train")
        else StagedSchedule(
            stage_epochs=(0, 0, 0, sum(config.stage_epochs)), scale=config.epoch_scale
        )
    )
    weights = LossWeights.from_alphas(config.alphas)
    groups = model.parameter_groups() if hasattr(model, "parameter_groups") else None
    iterations = config.iterations_per_epoch or max(1, math.ceil(len(train) / config.batch_size))
    final_stage = schedule.stage_at(schedule.total_epochs - 1).index
    best_score, best_state, history = -1.0, None, []
    out = Path(run_dir) if run_dir is not None else None
    preprocessing = {
        "normalization": "zscore",
        "percentiles": [0.5, 99.5],
        "patch_size": list(config.crop_size),
    }
    for epoch in range(schedule.total_epochs):
        stage = schedule.stage_at(epoch)
        if groups is not None:
            set_trainable(groups, stage.param_groups)
        start, sums = time.perf_counter(), {}
        for _ in range(iterations):
            picks = rng.integers(0, len(train), size=config.batch_size)
            batch = [crop_sample(train[i], config, rng) for i in picks]
            image = torch.stack([b[0] for b in batch]).to(device)
            truth = torch.stack([b[1] for b in batch]).to(device)
            for k, v in train_step(
                model, optimizer, image, truth, stage.loss_terms, weights
            ).items():
                sums[k] = sums.get(k, 0.0) + v / iterations
        score = validation_dice(model, val, config, device) if val else float("nan")
        record = {
            "epoch": epoch,
            "stage": stage.index,
            "seconds": time.perf_counter() - start,
            "val_dice": score,
            **sums,
        }
        history.append(record)
        log.info("epoch %d stage %d %s", epoch, stage.index, json.dumps(record))
        in_final = stage.index == final_stage
        if in_final and (not val or score >= best_score or best_state is None):
            best_score = score if val else best_score
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            if out is not None:
                ckpt = make_checkpoint(
                    model, preprocessing=preprocessing, metrics={"val_dice": score, "epoch": epoch}
                )
                save_checkpoint(out / "best.pt", ckpt)
        if out is not None:
            save_checkpoint(
                out / "last.pt",
                make_checkpoint(model, preprocessing=preprocessing, metrics={"val_dice": score}),
            )
            with open(out / "history.jsonl", "a") as fh:
                fh.write(json.dumps(record) + "\n")
    if best_state is not None:
        model.load_state_dict(best_state)
    for p in model.parameters():
        p.requires_grad_(True)
    return model.eval(), history


def train_synergynet(config: SynergyTrainConfig, run_dir: str | Path) -> Path:
    """Train on the cases under ``config.data`` and return the path of the best checkpoint."""
    if config.data is None:
        raise ConfigError(
            "synergynet config: 'data' (a dataset folder or CSV manifest) is required"
        )
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    volumes = load_volumes(config.data)
    train, val = split_volumes(volumes, config.val_fraction, config.seed)
    train_on_volumes(config, train, val, run_dir)
    return run_dir / "best.pt"
