"""Checkpoints that rebuild their model from the file alone (the nanoGPT habit).

A checkpoint is a ``torch.save``'d dict::

    {
      "format": "mslesion-checkpoint/1",
      "model": {"name": "r2attunet", "kwargs": {...}},   # registry name + constructor args
      "state_dict": {...},                                 # fp32, or fp16 for shipped weights
      "preprocessing": {...},   # how inputs were normalised (see mslesion.preprocess)
      "metrics": {...},         # e.g. validation Dice, for `mslesion models`
      "mslesion_version": "0.1.0",
      ...                       # training adds optimizer/scheduler/scaler/RNG state
    }
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from mslesion import __version__
from mslesion.errors import InputError
from mslesion.io.atomic import atomic_output
from mslesion.models.registry import build_model, model_config

FORMAT = "mslesion-checkpoint/1"


def make_checkpoint(
    model: nn.Module,
    *,
    preprocessing: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    half: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """Checkpoint dict for ``model`` (built by ``build_model``); ``half`` stores fp16 weights."""
    state = {k: v.detach().cpu() for k, v in unwrap_model(model).state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    return {
        "format": FORMAT,
        "model": model_config(unwrap_model(model)).to_dict(),
        "state_dict": state,
        "preprocessing": dict(preprocessing or {}),
        "metrics": dict(metrics or {}),
        "mslesion_version": __version__,
        **extra,
    }


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside DDP / torch.compile wrappers."""
    for attr in ("module", "_orig_mod"):
        inner = getattr(model, attr, None)
        if isinstance(inner, nn.Module):
            return unwrap_model(inner)
    return model


def save_checkpoint(
    path: str | Path, checkpoint: dict[str, Any], *, overwrite: bool = True
) -> Path:
    """Write a checkpoint dict atomically."""
    with atomic_output(path, overwrite) as tmp:
        torch.save(checkpoint, tmp)
    return Path(path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and validate a checkpoint on the CPU; clear one-line errors for bad files."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "model file not found")
    if path.stat().st_size == 0:
        raise InputError(path, "model file is empty")
    try:
        # weights_only=False: our checkpoints hold plain dicts/lists of config values and RNG
        # states (numpy arrays); they are files this project wrote, not arbitrary downloads.
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except (
        Exception
    ) as exc:  # torch.load on a damaged file can raise almost anything (KeyError too)
        raise InputError(
            path, f"corrupt or unreadable model file ({str(exc).splitlines()[0][:100]})"
        ) from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise InputError(path, "not an mslesion checkpoint (missing format tag)")
    for key in ("model", "state_dict"):
        if key not in ckpt:
            raise InputError(path, f"checkpoint lacks {key!r}")
    return ckpt


def float32_state_dict(ckpt: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The checkpoint's weights as float32 (shipped files store fp16), other tensors as stored."""
    return {k: v.float() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}


def model_from_checkpoint(source: str | Path | dict[str, Any]) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model stored in a checkpoint (file or dict); returns (model in eval mode, ckpt).

    Weights are loaded as float32 whatever precision they were stored in.
    """
    ckpt = source if isinstance(source, dict) else load_checkpoint(source)
    where = None if isinstance(source, dict) else Path(source)
    spec = ckpt["model"]
    model = build_model(spec["name"], **spec.get("kwargs", {}))
    state = float32_state_dict(ckpt)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise InputError(
            where, f"weights do not fit model {spec['name']!r} ({str(exc).splitlines()[0][:120]})"
        ) from exc
    model.eval()
    return model, ckpt


def export_weights(
    source: str | Path,
    dest: str | Path,
    *,
    extra_metrics: dict[str, Any] | None = None,
    threshold: float | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a small inference-only copy of a (training) checkpoint: fp16 weights, the model
    spec, preprocessing, metrics and where it came from; optimizer and RNG state are dropped.

    ``threshold``: the probability threshold ``mslesion segment`` uses for this model unless
    told otherwise (stored as ``postprocessing.threshold``; chosen by cross-validation).
    This is how the models shipped in ``mslesion/weights/`` are made from a run's ``best.pt``.
    """
    if threshold is not None and not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
    model, ckpt = model_from_checkpoint(source)
    provenance = {
        key: ckpt[key] for key in ("epoch", "config", "data_manifest_hash") if key in ckpt
    }
    shipped = make_checkpoint(
        model,
        preprocessing=ckpt.get("preprocessing"),
        metrics={**ckpt.get("metrics", {}), **(extra_metrics or {})},
        half=True,
        training=provenance,
        postprocessing={
            **ckpt.get("postprocessing", {}),
            **({} if threshold is None else {"threshold": float(threshold)}),
        },
    )
    return save_checkpoint(dest, shipped, overwrite=overwrite)
