"""Full training state in one checkpoint, on top of :mod:`mslesion.models.checkpoint`.

Beyond the model (registry name + constructor args + weights) and preprocessing, a training
checkpoint holds the optimizer, scheduler and AMP scaler states, the RNG states (python, numpy,
torch, CUDA), the epoch just finished, the best metric so far, the resolved config and a hash
of the data manifest, so ``--resume`` continues exactly where the run stopped.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mslesion.io.cases import Case
from mslesion.models.checkpoint import (
    float32_state_dict,
    load_checkpoint,
    make_checkpoint,
    save_checkpoint,
    unwrap_model,
)


def capture_rng() -> dict[str, Any]:
    """The global RNG states (python, numpy, torch CPU, and CUDA when present)."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),  # noqa: NPY002  (the legacy global RNG)
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def manifest_hash(cases: Sequence[Case], extra: dict[str, Any] | None = None) -> str:
    """SHA-256 (16 hex) of the cases' ids and files (path, size) plus ``extra`` settings.

    Stored in checkpoints so a resume on different data is detected.
    """
    rows = []
    for c in sorted(cases, key=lambda c: c.case_id):
        files = [c.flair, c.lesion_mask, c.brain_mask]
        rows.append(
            [c.case_id, c.subject]
            + [
                None
                if f is None
                else [str(Path(f).resolve()), Path(f).stat().st_size if Path(f).exists() else None]
                for f in files
            ]
        )
    blob = json.dumps({"cases": rows, "extra": extra or {}}, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class ResumeState:
    """What the loop needs from a checkpoint to go on: the next epoch and the best so far."""

    next_epoch: int
    best_value: float | None
    manifest: str


def training_checkpoint(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: Any,
    *,
    epoch: int,
    config: dict[str, Any],
    preprocessing: dict[str, Any],
    manifest: str,
    metrics: dict[str, float],
    best_value: float | None,
) -> dict[str, Any]:
    """The checkpoint dict after ``epoch`` (0-based) finished."""
    return make_checkpoint(
        model,  # make_checkpoint unwraps DDP / compile wrappers itself
        preprocessing=preprocessing,
        metrics=metrics,
        optimizer=optimizer.state_dict(),
        scheduler=scheduler.state_dict(),
        scaler=scaler.state_dict() if scaler is not None else None,
        rng=capture_rng(),
        epoch=epoch,
        best_value=best_value,
        config=config,
        data_manifest_hash=manifest,
    )


def initial_weights(source: str, name: str, kwargs: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The float32 weights of ``source`` (a checkpoint path or a shipped model name), checked to
    fit the run's model ``name`` + ``kwargs``; load them with ``model.load_state_dict``.

    Only the weights travel: a fine-tuning run starts its own optimizer, schedule and epochs.
    Called before the data are loaded, so a wrong file fails in a second, not after minutes.

    Raises:
        InputError: the file is missing or unreadable, or it holds another architecture than
            the config's model (both named in the message).
    """
    from mslesion.errors import InputError
    from mslesion.infer.weights import resolve_model
    from mslesion.models.registry import get_spec

    path = resolve_model(source)
    ckpt = load_checkpoint(path)
    stored = ckpt["model"]
    # Checkpoints store the kwargs merged with the registry defaults (what build_model used).
    wanted = {**get_spec(name).defaults, **kwargs}
    if stored["name"] != name or stored.get("kwargs", {}) != wanted:
        raise InputError(
            path,
            f"holds {stored['name']} {stored.get('kwargs', {})}, but the run trains {name} "
            f"{wanted}; set model.name/model.kwargs to match the weights",
        )
    return float32_state_dict(ckpt)


def save_training_checkpoint(path: str | Path, ckpt: dict[str, Any]) -> Path:
    return save_checkpoint(path, ckpt, overwrite=True)


def restore_training(
    path: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: Any,
) -> ResumeState:
    """Load a training checkpoint into the given objects (in place) and restore the RNGs."""
    ckpt = load_checkpoint(path)
    unwrap_model(model).load_state_dict(ckpt["state_dict"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    if scaler is not None and ckpt.get("scaler"):
        scaler.load_state_dict(ckpt["scaler"])
    restore_rng(ckpt["rng"])
    return ResumeState(
        next_epoch=int(ckpt["epoch"]) + 1,
        best_value=ckpt.get("best_value"),
        manifest=str(ckpt.get("data_manifest_hash", "")),
    )
