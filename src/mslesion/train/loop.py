"""The training loop: one readable function, :func:`train`, plus the small steps it calls.

Single process or DDP (``torchrun --nproc_per_node N``: env ``RANK``/``WORLD_SIZE``; NCCL on
CUDA, gloo on CPU; each rank takes its share of every epoch's patch plan; rank 0 validates,
logs and writes checkpoints). bf16 autocast on CUDA. Resumable: every epoch's patch plan and
every patch's augmentation derive from (seed, epoch, index) and the global RNG states are
checkpointed, so a resumed run reproduces an uninterrupted one (deterministic mode on CPU).
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler

from mslesion.data.augment import build_augmentation
from mslesion.data.dataset import (
    PatchDataset,
    PreprocessSettings,
    SamplingSettings,
    VolumeData,
    attach_indices,
    plan_epoch,
)
from mslesion.errors import ConfigError, InputError
from mslesion.io.atomic import write_text_atomic
from mslesion.io.cases import Case
from mslesion.losses import BCEDiceLoss
from mslesion.models import build_model
from mslesion.synth.fields import limit_blas_threads
from mslesion.train import checkpointing as ckpt_io
from mslesion.train.budget import next_epoch_patches
from mslesion.train.config import TrainConfig, dump_config
from mslesion.train.prepare import load_volume, synthetic_train_seeds, synthetic_val_seeds
from mslesion.train.schedulers import build_scheduler, step_scheduler
from mslesion.train.splits import split_by_subjects, split_fold, split_fraction


@dataclass(frozen=True)
class Runtime:
    """Where this process runs: device, DDP rank/world size, autocast dtype (None = fp32)."""

    device: torch.device
    rank: int = 0
    world_size: int = 1
    amp_dtype: torch.dtype | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


@dataclass(frozen=True)
class TrainResult:
    """The run folder, the best validation value, the last epoch's CSV row, the trained model."""

    run_dir: Path
    epochs_done: int
    best_value: float | None
    last_metrics: dict[str, float]
    model: nn.Module


def resolve_device(pref: str) -> torch.device:
    if pref == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device: cuda asked for but no CUDA device is available")
    if pref == "auto":
        pref = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(pref)


def setup_runtime(cfg: TrainConfig) -> Runtime:
    """Join the process group when launched by torchrun; pick the device and AMP dtype."""
    device = resolve_device(cfg.device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        if device.type == "cuda":
            local = int(os.environ.get("LOCAL_RANK", rank))
            torch.cuda.set_device(local)
            device = torch.device("cuda", local)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    amp = torch.bfloat16 if (cfg.amp and device.type == "cuda") else None
    return Runtime(device=device, rank=rank, world_size=world, amp_dtype=amp)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    # Legacy global RNGs are seeded too: third-party code (MONAI defaults, scipy) draws from them.
    np.random.seed(seed % (2**32))  # noqa: NPY002
    torch.manual_seed(seed)


@contextlib.contextmanager
def process_settings(cfg: TrainConfig, device: torch.device) -> Iterator[None]:
    """Thread count and deterministic mode for the run, restored afterwards (they are global
    to the process, and a caller such as a test session goes on after training)."""
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    try:
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        if cfg.deterministic and device.type == "cpu":
            torch.use_deterministic_algorithms(True)
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(det)


# ---------------------------------------------------------------- data


def gather_cases(paths: Sequence[str]) -> list[Case]:
    """Cases with a lesion mask from every dataset path (others cannot be trained on)."""
    from mslesion.io.datasets import find_cases

    cases: list[Case] = []
    for path in paths:
        found = find_cases(path)
        usable = [c for c in found if c.lesion_mask is not None]
        if not usable:
            raise InputError(path, "no case with a lesion mask: training needs ground truth")
        cases.extend(usable)
    return cases


def resolve_cache_dir(cfg: TrainConfig, run_dir: Path) -> Path | None:
    """Where preprocessed volumes are cached: ``auto`` = ``<run_dir>/../.cache``, None = off."""
    if cfg.data.cache_dir is None:
        return None
    return run_dir.parent / ".cache" if cfg.data.cache_dir == "auto" else Path(cfg.data.cache_dir)


def split_cases(cases: Sequence[Case], cfg: TrainConfig) -> tuple[list[Case], list[Case]]:
    s = cfg.split
    if not cases:
        return [], []
    if s.val_subjects:
        return split_by_subjects(cases, s.val_subjects)
    if s.fold is not None:
        return split_fold(cases, s.fold, s.n_folds, s.seed)
    return split_fraction(cases, s.val_fraction, s.seed)


def load_volumes(
    train_cases: Sequence[Case],
    val_cases: Sequence[Case],
    cfg: TrainConfig,
    cache_dir: Path | None,
    progress: Any = None,
) -> tuple[list[VolumeData], list[VolumeData]]:
    """Real and synthetic training volumes, and validation volumes (real, else synthetic)."""
    jobs: list[tuple[str, Any]] = [("train", c) for c in train_cases] + [
        ("val", c) for c in val_cases
    ]
    jobs += [("train", seed) for seed in synthetic_train_seeds(cfg)]
    if not val_cases:
        jobs += [("val", seed) for seed in synthetic_val_seeds(cfg)]
    task = progress.add_task("loading volumes", total=len(jobs)) if progress else None
    train, val = [], []
    for side, job in jobs:
        (train if side == "train" else val).append(load_volume(job, cfg, cache_dir))
        if progress:
            progress.advance(task)
    if not train:
        raise ConfigError("data: no training volumes (give data.paths and/or data.synthetic > 0)")
    return train, val


def sampling_settings(cfg: TrainConfig) -> SamplingSettings:
    d = cfg.data
    return SamplingSettings(
        d.patch_size,
        d.stride,
        d.positive_share,
        d.min_lesion_voxels,
        d.min_brain_fraction,
        d.synthetic_ratio,
    )


def epoch_loader(
    volumes: list[VolumeData],
    cfg: TrainConfig,
    rt: Runtime,
    epoch: int,
    transform: Any,
    n_patches: int | None = None,
) -> DataLoader:
    """The DataLoader of one epoch: its plan is identical on every rank; each takes a share.

    ``n_patches``: the epoch's size (default ``data.patches_per_epoch``; a time budget sets it).
    """
    n_patches = cfg.data.patches_per_epoch if n_patches is None else n_patches
    plan = plan_epoch(volumes, n_patches, sampling_settings(cfg), cfg.seed, epoch)
    ds = PatchDataset(volumes, plan, cfg.data.patch_size, transform, cfg.seed, epoch)
    sampler = None
    if rt.distributed:
        sampler = DistributedSampler(
            ds, num_replicas=rt.world_size, rank=rt.rank, shuffle=False, drop_last=True
        )
        sampler.set_epoch(epoch)
    # An explicit generator: otherwise the DataLoader draws its base seed from the global torch
    # RNG, and a resumed run would diverge from an uninterrupted one.
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
    return DataLoader(
        ds,
        batch_size=cfg.data.batch_size,
        sampler=sampler,
        shuffle=False,
        drop_last=True,
        num_workers=cfg.data.num_workers,
        generator=gen,
        worker_init_fn=_seed_worker,
        pin_memory=rt.device.type == "cuda",
        persistent_workers=False,
    )


def _seed_worker(worker_id: int) -> None:
    limit_blas_threads()  # (torch itself runs one thread per DataLoader worker)
    seed = torch.initial_seed() % (2**32)
    np.random.seed(seed)  # noqa: NPY002
    random.seed(seed)


# ---------------------------------------------------------------- steps


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: BCEDiceLoss,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    cfg: TrainConfig,
    rt: Runtime,
    progress: Any = None,
    epoch: int = 0,
) -> dict[str, float]:
    """One pass over ``loader``; mean train ``loss``, ``bce``, ``dice_loss`` over all ranks."""
    model.train()
    sums = torch.zeros(4, dtype=torch.float64)  # total, bce, dice, n batches
    task = (
        progress.add_task(f"epoch {epoch + 1}/{cfg.epochs}", total=len(loader))
        if progress
        else None
    )
    for image, mask in loader:
        image = image.to(rt.device, non_blocking=True)
        mask = mask.to(rt.device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(rt.device.type, dtype=rt.amp_dtype, enabled=rt.amp_dtype is not None):
            logits = model(image)
        parts = loss_fn(logits, mask)
        scaler.scale(parts.total).backward()
        if cfg.optim.grad_clip is not None:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        sums += torch.tensor(
            [parts.total.item(), parts.bce.item(), parts.dice.item(), 1.0], dtype=torch.float64
        )
        if progress:
            progress.update(
                task,
                advance=1,
                description=f"epoch {epoch + 1}/{cfg.epochs} loss {parts.total.item():.4f}",
            )
    if progress:
        progress.remove_task(task)
    if rt.distributed:
        dist.all_reduce(sums)
    n = max(sums[3].item(), 1.0)
    return {"loss": sums[0].item() / n, "bce": sums[1].item() / n, "dice_loss": sums[2].item() / n}


def build_objects(
    cfg: TrainConfig, rt: Runtime
) -> tuple[nn.Module, torch.optim.Optimizer, Any, torch.amp.GradScaler]:
    """Model (on the device, DDP-wrapped when distributed), Adam, LR scheduler, scaler."""
    model = build_model(cfg.model.name, **cfg.model.kwargs).to(rt.device)
    if rt.distributed:
        model = nn.parallel.DistributedDataParallel(
            model, device_ids=[rt.device.index] if rt.device.type == "cuda" else None
        )
    optimizer = torch.optim.Adam(
        model.parameters(),
        lr=cfg.optim.lr,
        betas=cfg.optim.betas,
        weight_decay=cfg.optim.weight_decay,
    )
    scheduler = build_scheduler(cfg.scheduler, optimizer, cfg.epochs)
    # bf16 needs no loss scaling; the scaler is kept (disabled) so fp16 could be switched on and
    # checkpoints always carry its state.
    scaler = torch.amp.GradScaler(rt.device.type, enabled=False)
    return model, optimizer, scheduler, scaler


# ---------------------------------------------------------------- run folder


def _better(value: float, best: float | None, mode: str) -> bool:
    if value != value:  # NaN never wins
        return False
    return best is None or (value > best if mode == "max" else value < best)


def train(
    cfg: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    cases: Sequence[Case] | None = None,
    progress: Any = None,
) -> TrainResult:
    """Train ``cfg.model`` with the F.sh recipe; writes the run folder (rank 0).

    ``cases`` overrides ``cfg.data.paths`` (already discovered cases); ``progress`` is a
    started rich ``Progress`` (or None for silence).
    """
    run_dir = Path(run_dir)
    rt = setup_runtime(cfg)
    if rt.distributed and not rt.is_main:
        progress = None
    with process_settings(cfg, rt.device):
        return _train(cfg, run_dir, rt, resume, cases, progress)


def _train(
    cfg: TrainConfig,
    run_dir: Path,
    rt: Runtime,
    resume: bool,
    cases: Sequence[Case] | None,
    progress: Any,
) -> TrainResult:
    from mslesion.train.curves import plot_curves, read_rows, write_rows
    from mslesion.train.validate import validate

    seed_everything(cfg.seed)
    last_path, best_path, csv_path = (
        run_dir / "last.pt",
        run_dir / "best.pt",
        run_dir / "metrics.csv",
    )
    if last_path.exists() and not resume:
        raise InputError(
            run_dir, "already holds a run (last.pt); pass --resume or pick another --run-dir"
        )
    if resume and not last_path.exists():
        raise InputError(last_path, "nothing to resume: no last.pt in the run folder")

    init_state = (
        ckpt_io.initial_weights(cfg.model.init_weights, cfg.model.name, cfg.model.kwargs)
        if cfg.model.init_weights and not resume
        else None
    )
    all_cases = list(cases) if cases is not None else gather_cases(cfg.data.paths)
    train_cases, val_cases = split_cases(all_cases, cfg)
    cache_dir = resolve_cache_dir(cfg, run_dir)
    if rt.distributed and not rt.is_main:
        dist.barrier()  # rank 0 fills the cache first; the others then read it
    train_vols, val_vols = load_volumes(train_cases, val_cases, cfg, cache_dir, progress)
    if rt.distributed and rt.is_main:
        dist.barrier()
    attach_indices(train_vols, sampling_settings(cfg))
    manifest = ckpt_io.manifest_hash(
        all_cases,
        {
            "synthetic": cfg.data.synthetic,
            "synth": cfg.data.synth,
            "val": sorted(c.case_id for c in val_cases),
        },
    )
    preprocessing = {
        **PreprocessSettings(cfg.data.normalization, cfg.data.percentiles).to_dict(),
        "spacing": None,
        "patch_size": list(cfg.data.patch_size),
    }

    model, optimizer, scheduler, scaler = build_objects(cfg, rt)
    core = model.module if rt.distributed else model
    loss_fn = BCEDiceLoss(cfg.loss.bce_weight, cfg.loss.dice_weight)
    transform = build_augmentation(cfg.augment) if cfg.augment.enabled else None
    start, best = 0, None
    if resume:
        state = ckpt_io.restore_training(last_path, model, optimizer, scheduler, scaler)
        if state.manifest and state.manifest != manifest:
            raise InputError(
                last_path, "the data differ from those the run started with (manifest hash)"
            )
        start, best = state.next_epoch, state.best_value
    elif init_state is not None:
        core.load_state_dict(init_state)
    rows = [r for r in read_rows(csv_path) if int(r["epoch"]) < start] if rt.is_main else []
    writer = None
    if rt.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(run_dir / "config.yaml", dump_config(cfg), overwrite=True)
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"), purge_step=start)

    metrics: dict[str, float] = {}
    began, n_patches = time.perf_counter(), cfg.data.patches_per_epoch
    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        loader = epoch_loader(train_vols, cfg, rt, epoch, transform, n_patches)
        train_stats = train_one_epoch(
            model, loader, loss_fn, optimizer, scaler, cfg, rt, progress, epoch
        )
        steps = (len(loader), time.perf_counter() - t0)
        val_stats: dict[str, float] = {}
        if rt.is_main and val_vols and (epoch + 1) % cfg.validation.every == 0:
            val_stats = validate(
                core,
                val_vols,
                cfg.data.patch_size,
                cfg.validation,
                loss_fn,
                rt.device,
                rt.amp_dtype,
            )
        lr = optimizer.param_groups[0]["lr"]
        step_scheduler(scheduler, train_stats, val_stats, bool(val_vols), rt.distributed)
        metrics = {
            "epoch": epoch,
            "lr": lr,
            **{f"train_{k}": v for k, v in train_stats.items()},
            **{f"val_{k}": v for k, v in val_stats.items()},
            "patches": n_patches,
            "time_s": time.perf_counter() - t0,
        }
        if rt.is_main:
            rows.append(metrics)
            write_rows(csv_path, rows)
            for key, value in metrics.items():
                if key != "epoch":
                    writer.add_scalar(key.replace("_", "/", 1), value, epoch)
            writer.flush()
            plot_curves(csv_path, run_dir / "curves_loss.png", run_dir / "curves_metrics.png")
            key = f"val_{cfg.validation.best_metric}"
            improved = key in metrics and _better(metrics[key], best, cfg.validation.best_mode)
            if improved:
                best = metrics[key]
            ckpt = ckpt_io.training_checkpoint(
                model,
                optimizer,
                scheduler,
                scaler,
                epoch=epoch,
                config=cfg.to_dict(),
                preprocessing=preprocessing,
                manifest=manifest,
                metrics=metrics,
                best_value=best,
            )
            ckpt_io.save_training_checkpoint(last_path, ckpt)
            if improved or not best_path.exists():
                ckpt_io.save_training_checkpoint(best_path, ckpt)
        if rt.distributed:
            dist.barrier()
        if cfg.time_budget_s is not None:
            n_patches = next_epoch_patches(cfg, rt.world_size, (began, t0), steps, epoch)
    if writer is not None:
        writer.close()
    return TrainResult(
        run_dir=run_dir, epochs_done=cfg.epochs, best_value=best, last_metrics=metrics, model=core
    )
