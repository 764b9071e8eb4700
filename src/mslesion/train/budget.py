"""Fit a training schedule into a wall-clock budget (a GPU lease, a cluster job's time limit).

Both recipes keep their number of epochs (so learning-rate schedules and SynergyNet's stage
boundaries stay where they are) and re-size each remaining epoch from the step time just
measured.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import torch
import torch.distributed as dist

if TYPE_CHECKING:
    from mslesion.train.config import TrainConfig


def iterations_for_budget(
    seconds_left: float, epochs_left: int, seconds_per_iteration: float
) -> int:
    """Steps per epoch that spend ``seconds_left`` over ``epochs_left`` epochs (at least 1)."""
    if epochs_left <= 0 or seconds_per_iteration <= 0:
        return 1
    return max(1, int(seconds_left / (epochs_left * seconds_per_iteration)))


def patches_for_budget(
    seconds_left: float,
    epochs_left: int,
    seconds_per_batch: float,
    overhead_per_epoch_s: float,
    batch_size: int,
) -> int:
    """Patches per epoch (a whole number of batches, at least one) for the F.sh recipe.

    ``seconds_left``: budget minus the time already spent; ``overhead_per_epoch_s``: what an
    epoch costs outside its steps (loader start, validation, checkpoints), taken off first.
    """
    usable = seconds_left - max(0, epochs_left) * max(0.0, overhead_per_epoch_s)
    return batch_size * iterations_for_budget(usable, epochs_left, seconds_per_batch)


def next_epoch_patches(
    cfg: TrainConfig,
    world_size: int,
    times: tuple[float, float],
    steps: tuple[int, float],
    epoch: int,
) -> int:
    """The F.sh loop's next epoch size under ``cfg.time_budget_s`` (0-based ``epoch`` just done).

    ``times``: (run start, this epoch's start) from ``time.perf_counter``; ``steps``: this
    rank's (count, seconds) of the epoch's training steps. Under DDP rank 0's timing is
    broadcast, so every rank plans the same epoch.
    """
    (began, epoch_start), (count, seconds) = times, steps
    now = time.perf_counter()
    timing = torch.tensor([seconds / max(1, count), now - epoch_start - seconds, now - began])
    if world_size > 1:
        dist.broadcast(timing, src=0)
    per_batch, overhead, spent = timing.tolist()
    # Each rank takes 1/world of an epoch's patches: the budget's batches are world-wide.
    return world_size * patches_for_budget(
        (cfg.time_budget_s or 0.0) - spent,
        cfg.epochs - 1 - epoch,
        per_batch,
        overhead,
        cfg.data.batch_size,
    )
