"""A readable training loop for SynergyNet (and its baselines) with the staged schedule.

Inputs are z-scored FLAIR volumes (brain = non-zero voxels) cropped to ``crop_size``
(128x160x128 by default) around the volume centre with a random jitter and rotated by up to
+-15 degrees about the sagittal axis (array axis 0, left-right) with MONAI transforms.
Adam, lr 1e-3; loss = sum of alpha_t * term_t over the terms the current stage trains.

Entry points: :func:`train_synergynet_run` (``mslesion train --recipe synergynet``: folds,
synthetic volumes, ``config.yaml`` for ``crossval``) and :func:`train_synergynet` (Python API,
one dataset folder); :func:`combine_ensemble_runs` makes the Ensemble baseline.
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
from mslesion.train.budget import iterations_for_budget
from mslesion.train.schedule import StagedSchedule, set_trainable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SynergyTrainConfig:
    """Everything a SynergyNet training run needs (sizes in voxels, angles in degrees).

    ``model`` may be ``"synergynet"``, ``"maskrcnn3d"`` (stages 1-3 only) or any plain
    segmentation model such as ``"unet3d"`` (trained on the ``seg`` Dice term throughout).
    ``iterations_per_epoch`` = None means one pass over the training cases.
    ``amp``: bf16 autocast on CUDA (ignored on CPU). ``time_budget_s``: fit the whole schedule
    into this many seconds of training by re-sizing every epoch from the measured step time
    (the number of epochs, hence the stage boundaries, stays as configured).
    ``validate_every``: epochs between validations (the last epoch always validates).
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
    amp: bool = True
    time_budget_s: float | None = None
    validate_every: int = 1

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
    """One z-scored FLAIR (X, Y, Z) float32 with its binary lesion mask (X, Y, Z) uint8.

    ``subject``: the patient (time points of one patient share it; default: the case itself),
    so that a split never puts one patient on both sides.
    """

    case_id: str
    image: np.ndarray
    mask: np.ndarray
    subject: str | None = None

    @property
    def patient(self) -> str:
        return self.subject or self.case_id


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
        volumes.append(TrainingVolume(case.case_id, image, mask.data, case.subject))
    if not volumes:
        raise InputError(data, "no case with a lesion mask to train on")
    return volumes


def crop_sample(
    volume: TrainingVolume,
    config: SynergyTrainConfig,
    rng: np.random.Generator | None,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, *crop) image and mask tensors on ``device``: centre crop (+ jitter and rotation
    when ``rng``). On a GPU the rotation runs there: on the CPU it costs more than a step."""
    from monai.transforms import Rotate, SpatialCrop, SpatialPad

    shape = np.array(volume.image.shape)
    centre = shape // 2
    if rng is not None and config.jitter > 0:
        centre = centre + rng.integers(-config.jitter, config.jitter + 1, size=3)
    crop = SpatialCrop(roi_center=centre.tolist(), roi_size=list(config.crop_size))
    pad = SpatialPad(spatial_size=list(config.crop_size))
    # Crop first (a view of the volume, float16 when memmapped from the cache), then convert
    # and move only the crop.
    image = pad(crop(torch.from_numpy(np.asarray(volume.image))[None]))
    mask = pad(crop(torch.from_numpy(np.asarray(volume.mask))[None]))
    image = torch.as_tensor(image).to(device, torch.float32)
    mask = torch.as_tensor(mask).to(device, torch.float32)
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
    """Random train/validation split by patient, as the command line's: about
    ``val_fraction`` of the patients validate, with all their time points."""
    from mslesion.train.splits import held_out_subjects

    held = held_out_subjects([v.patient for v in volumes], val_fraction, seed)
    return [v for v in volumes if v.patient not in held], [v for v in volumes if v.patient in held]


# ------------------------------------------------------------------------- steps
def model_losses(
    model: nn.Module, image: torch.Tensor, truth: torch.Tensor, active: frozenset[str]
) -> dict[str, torch.Tensor]:
    """Loss terms of a SynergyNet-like model (``forward_train``) or a plain segmenter (Dice)."""
    if hasattr(model, "forward_train"):
        return model.forward_train(image, truth, active)
    return {"seg": segmentation_dice_loss(model(image), truth)}


def autocast(device: torch.device, enabled: bool) -> torch.autocast:
    """bf16 autocast on CUDA when ``enabled``; a no-op context elsewhere."""
    on = enabled and device.type == "cuda"
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=on)


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    image: torch.Tensor,
    truth: torch.Tensor,
    active: frozenset[str],
    weights: LossWeights,
    amp: bool = False,
) -> dict[str, float]:
    """One optimisation step on a batch (B, 1, X, Y, Z); returns the loss values."""
    model.train()
    optimizer.zero_grad(set_to_none=True)
    with autocast(image.device, amp):
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
        with autocast(device, config.amp):
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
    began = time.perf_counter()
    final_stage = schedule.stage_at(schedule.total_epochs - 1).index
    best_score, best_state, history = -1.0, None, []
    out = Path(run_dir) if run_dir is not None else None
    preprocessing = {
        "normalization": "zscore",
        "percentiles": [0.5, 99.5],
        "patch_size": list(config.crop_size),
        # Trained on whole-brain crops: the predictor may run it on the whole volume at once
        # (the detector sees every lesion in one pass) even with instance norm.
        "whole_volume": True,
    }
    for epoch in range(schedule.total_epochs):
        stage = schedule.stage_at(epoch)
        if groups is not None:
            set_trainable(groups, stage.param_groups)
        start, sums = time.perf_counter(), {}
        for _ in range(iterations):
            picks = rng.integers(0, len(train), size=config.batch_size)
            batch = [crop_sample(train[i], config, rng, device) for i in picks]
            image = torch.stack([b[0] for b in batch])
            truth = torch.stack([b[1] for b in batch])
            for k, v in train_step(
                model, optimizer, image, truth, stage.loss_terms, weights, config.amp
            ).items():
                sums[k] = sums.get(k, 0.0) + v / iterations
        step_seconds = (time.perf_counter() - start) / iterations
        due = (epoch + 1) % max(1, config.validate_every) == 0
        due = due or epoch == schedule.total_epochs - 1
        score = validation_dice(model, val, config, device) if val and due else float("nan")
        record = {
            "epoch": epoch,
            "stage": stage.index,
            "iterations": iterations,
            "seconds": time.perf_counter() - start,
            "val_dice": score,
            **sums,
        }
        history.append(record)
        log.info("epoch %d stage %d %s", epoch, stage.index, json.dumps(record))
        in_final = stage.index == final_stage
        # Without validation the latest final-stage epoch is the best; with it, the best scored.
        improved = due and (score >= best_score or best_state is None)
        if in_final and (not val or improved):
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
        if config.time_budget_s is not None:
            # Later stages cost more per step (detection, fusion): re-measure every epoch.
            # What an epoch spends outside its steps (validation, checkpoints) comes first.
            epochs_left = schedule.total_epochs - epoch - 1
            overhead = time.perf_counter() - start - step_seconds * iterations
            iterations = iterations_for_budget(
                config.time_budget_s - (time.perf_counter() - began) - epochs_left * overhead,
                epochs_left,
                step_seconds,
            )
    if best_state is not None:
        model.load_state_dict(best_state)
    for p in model.parameters():
        p.requires_grad_(True)
    return model.eval(), history


def train_synergynet_run(cfg: Any, run_dir: str | Path) -> Path:
    """``mslesion train --recipe synergynet``: the run folder of a :class:`TrainConfig`.

    The ``synergynet`` section sets the model and schedule; the data come from
    ``data.paths`` (or the section's ``data``) plus ``data.synthetic`` semi-synthetic
    volumes, z-scored; the split is the ``split`` section's (``--fold K/N`` holds out
    whole patients, as for the F.sh recipe). Writes ``config.yaml`` (with the split) so
    that ``mslesion crossval`` scores each fold on the patients it held out.
    """
    from mslesion.io.atomic import write_text_atomic
    from mslesion.train import loop
    from mslesion.train.config import dump_config

    section = SynergyTrainConfig.from_dict(cfg.synergynet)
    paths = list(cfg.data.paths) or ([section.data] if section.data else [])
    data = dataclasses.replace(cfg.data, paths=paths, normalization="zscore")
    cfg = dataclasses.replace(cfg, data=data)
    if not paths and not data.synthetic:
        raise ConfigError("synergynet: no data (give --data and/or --synthetic N)")
    run_dir = Path(run_dir)
    if (run_dir / "last.pt").exists():
        raise InputError(run_dir, "already holds a run (last.pt); pick another --run-dir")
    cases = loop.gather_cases(paths) if paths else []
    train_cases, val_cases = loop.split_cases(cases, cfg)
    cache = loop.resolve_cache_dir(cfg, run_dir)
    train_vols, val_vols = loop.load_volumes(train_cases, val_cases, cfg, cache)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run_dir / "config.yaml", dump_config(cfg), overwrite=True)
    train, val = (
        [TrainingVolume(v.name, v.image, v.mask, v.subject) for v in vols]
        for vols in (train_vols, val_vols)
    )
    train_on_volumes(section, train, val, run_dir)
    return run_dir / "best.pt"


def combine_ensemble_runs(
    unet_run: str | Path,
    maskrcnn_run: str | Path,
    out_run: str | Path,
    checkpoint: str = "last.pt",
    overwrite: bool = False,
) -> Path:
    """The "Ensemble" baseline from two runs trained apart: ``out_run/<checkpoint>``.

    ``unet_run`` holds a plain U-Net, ``maskrcnn_run`` a ``maskrcnn3d``; both must have held
    out the same subjects (same ``split`` in their ``config.yaml``), which ``out_run`` keeps,
    so ``mslesion crossval`` scores the ensemble like any fold run.
    """
    from mslesion.io.atomic import write_text_atomic
    from mslesion.models.checkpoint import make_checkpoint, model_from_checkpoint, save_checkpoint
    from mslesion.models.synergynet import ensemble_from_members
    from mslesion.train.config import read_yaml

    unet_run, maskrcnn_run, out_run = Path(unet_run), Path(maskrcnn_run), Path(out_run)
    configs = []
    for run in (unet_run, maskrcnn_run):
        if not (run / "config.yaml").is_file():
            raise InputError(run, "not a run folder (no config.yaml)")
        configs.append(read_yaml(run / "config.yaml"))
    if configs[0].get("split") != configs[1].get("split"):
        raise InputError(maskrcnn_run, f"holds out other subjects than {unet_run} (split differs)")
    unet, unet_ckpt = model_from_checkpoint(unet_run / checkpoint)
    maskrcnn, _ = model_from_checkpoint(maskrcnn_run / checkpoint)
    try:
        model = ensemble_from_members(unet, maskrcnn)
    except (KeyError, RuntimeError, TypeError) as exc:
        raise InputError(out_run, f"cannot combine these two models: {exc}") from None
    target = out_run / checkpoint
    ckpt = make_checkpoint(model, preprocessing=unet_ckpt.get("preprocessing"))
    save_checkpoint(target, ckpt, overwrite=overwrite)
    write_text_atomic(
        out_run / "config.yaml", (unet_run / "config.yaml").read_text(), overwrite=True
    )
    return target


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
