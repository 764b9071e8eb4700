"""Disk cache of preprocessed volumes as ``.npy`` memmaps.

Loading and normalising a 182x218x182 FLAIR takes ~1 s; a training epoch draws hundreds of
patches from the same scans, so each preprocessed volume is written once (images as float16,
masks as uint8) and then read through ``np.load(mmap_mode="r")``: patch extraction touches only
the pages it needs and DataLoader workers share the OS page cache.

Entries are keyed by a hash of the source files (resolved path, size, mtime) and the
preprocessing settings, so changing either makes a new entry instead of reusing a stale one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mslesion.io.atomic import atomic_output

# float16 keeps 3 significant digits: ample for [0, 1] or z-scored intensities and half the
# bytes of float32. Masks are exact in uint8.
_STORE_DTYPE = {"f": np.float16, "u": np.uint8, "b": np.uint8, "i": np.int32}


def file_fingerprint(path: str | Path) -> dict[str, Any]:
    """What identifies a file's content cheaply: resolved path, size in bytes, mtime (ns)."""
    p = Path(path).resolve()
    st = p.stat()
    return {"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def cache_key(files: list[str | Path | None], settings: Mapping[str, Any]) -> str:
    """Hex digest (16 chars) of the files' fingerprints and the settings (JSON, sorted keys)."""
    payload = {
        "files": [None if f is None else file_fingerprint(f) for f in files],
        "settings": dict(settings),
    }
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _save_npy(path: Path, array: np.ndarray) -> None:
    dtype = _STORE_DTYPE.get(array.dtype.kind, array.dtype)
    with atomic_output(path, overwrite=True) as tmp:
        np.save(tmp, np.ascontiguousarray(array, dtype=dtype))


def cached_arrays(
    cache_dir: str | Path,
    key: str,
    build: Callable[[], dict[str, np.ndarray]],
) -> dict[str, np.ndarray]:
    """Return the arrays stored under ``key``, building and writing them on a miss.

    ``build()`` returns named arrays (e.g. ``{"image": float32 (X,Y,Z), "mask": uint8 ...}``);
    they come back as read-only memmaps (floats as float16). The ``.done`` marker is written
    last, so an interrupted write is rebuilt next time rather than read half-written.
    """
    folder = Path(cache_dir) / key
    marker = folder / ".done"
    if not marker.exists():
        arrays = build()
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in arrays.items():
            _save_npy(folder / f"{name}.npy", array)
        marker.write_text(json.dumps(sorted(arrays)))
    names = json.loads(marker.read_text())
    return {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in names}
