"""Find a model: a checkpoint path, or the name of a model shipped in ``mslesion/weights/``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from mslesion.errors import InputError

DEFAULT_MODEL = "unet3d-small-gpu"


def weights_dir() -> Path:
    """The folder of shipped checkpoints inside the installed package."""
    return Path(str(resources.files("mslesion") / "weights"))


def shipped_models() -> dict[str, Path]:
    """Shipped checkpoints by name (``weights/<name>.pt``)."""
    folder = weights_dir()
    if not folder.is_dir():
        return {}
    return {path.name[: -len(".pt")]: path for path in sorted(folder.glob("*.pt"))}


def looks_like_path(spec: str) -> bool:
    return (
        spec.endswith((".pt", ".pth", ".ckpt"))
        or "/" in spec
        or "\\" in spec
        or Path(spec).exists()
    )


def resolve_model(spec: str | None) -> Path:
    """Checkpoint file for ``--model`` (a path, a shipped name, or None for the default).

    Raises:
        InputError: no shipped model of that name (lists the available ones), or its weights
            file is missing or empty (e.g. a Git LFS pointer never fetched).
    """
    spec = spec or DEFAULT_MODEL
    if looks_like_path(spec):
        return Path(spec)  # existence and format are checked when it is loaded
    available = shipped_models()
    if spec not in available:
        names = ", ".join(sorted(available)) or "none yet (pass --model PATH to a checkpoint)"
        raise InputError(None, f"no shipped model named {spec!r}; available: {names}")
    path = available[spec]
    if not path.is_file() or path.stat().st_size < 1024:
        raise InputError(
            path, f"missing weights for shipped model {spec!r} (file absent or a placeholder)"
        )
    return path
