"""Learning-rate schedules of the F.sh recipe (plateau) and of the short CPU recipes (poly)."""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist

from mslesion.train.config import SchedulerConfig


def build_scheduler(cfg: SchedulerConfig, optimizer: torch.optim.Optimizer, epochs: int) -> Any:
    """``plateau``: ReduceLROnPlateau (mode min); ``poly``: lr0 * (1 - epoch/epochs)**power."""
    if cfg.kind == "poly":
        return torch.optim.lr_scheduler.PolynomialLR(optimizer, total_iters=epochs, power=cfg.power)
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=cfg.factor, patience=cfg.patience, min_lr=cfg.min_lr
    )


def broadcast_float(value: float, distributed: bool) -> float:
    """Rank 0's ``value`` on every rank (``value`` itself when not distributed)."""
    if not distributed:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.broadcast(t, src=0)
    return float(t.item())


def step_scheduler(
    scheduler: Any,
    train_stats: dict[str, float],
    val_stats: dict[str, float],
    has_validation: bool,
    distributed: bool = False,
) -> None:
    """One epoch's scheduler step.

    Plateau (F.sh) watches the validation loss and so steps only in epochs that validated:
    mixing training and validation losses in one plateau count would compare numbers on
    different scales. Without any validation set it watches the training loss. Rank 0's
    value is shared so every rank's learning rate stays equal.
    """
    if not isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step()
        return
    validated = broadcast_float(1.0 if val_stats else 0.0, distributed) > 0.5
    if has_validation and not validated:
        return
    watched = val_stats.get("loss", train_stats["loss"])
    scheduler.step(broadcast_float(watched, distributed))
