"""Where the shared real data lives, resolved at run time (never copied into the package).

Order: an explicit argument, then the ``MSLESION_DATA`` environment variable, then a
``shared/data`` folder beside (or above) the current directory or the source tree.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "MSLESION_DATA"


def _candidates() -> list[Path]:
    here = Path(__file__).resolve()
    starts = [Path.cwd().resolve(), *here.parents]
    found: list[Path] = []
    for start in starts:
        for parent in [start, *start.parents]:
            for rel in ("shared/data", "../shared/data"):
                found.append((parent / rel).resolve())
    return found


def shared_data_dir(explicit: str | Path | None = None) -> Path | None:
    """The shared data folder (with ``real/``, ``atlas/``, ``lesion_library/``), or None."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    for cand in _candidates():
        if (cand / "real").is_dir() or (cand / "atlas").is_dir():
            return cand
    return None


def require_shared_data(explicit: str | Path | None = None) -> Path:
    """Like :func:`shared_data_dir` but raise a clear error when the folder is missing."""
    from mslesion.errors import InputError

    path = shared_data_dir(explicit)
    if path is None or not path.is_dir():
        raise InputError(
            path or "shared/data",
            f"shared data folder not found; set {ENV_VAR} or pass --data-root",
        )
    return path
