"""Atomic file output: write to a temporary file in the target folder, then rename.

A crash or Ctrl-C while writing leaves at most a hidden ``.<name>.tmp-*`` file that is
removed on the way out, never a half-written output under the real name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mslesion.errors import OutputExistsError

# Suffixes that tools (nibabel, matplotlib) read to choose a format: the temporary file
# must keep them so that e.g. ``x.nii.gz`` is really gzip-compressed.
_KNOWN_SUFFIXES = (".nii.gz", ".nii", ".csv", ".png", ".json", ".md", ".yaml", ".pt", ".npy")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in _KNOWN_SUFFIXES:
        if name.endswith(suffix):
            return path.name[-len(suffix) :]
    return path.suffix


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(path: str | Path, overwrite: bool) -> Path:
    """Raise :class:`OutputExistsError` if ``path`` exists and ``overwrite`` is False."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(path)
    return path


@contextlib.contextmanager
def atomic_output(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write to; on success it is renamed onto ``path``.

    The temporary file lives in the same folder (so the rename is atomic on POSIX) and keeps
    the suffix of ``path``. On any exception the temporary file is deleted and ``path`` is
    left as it was.
    """
    path = check_writable(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.name}.tmp-", suffix=_suffix(path), dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if path.exists() and not overwrite:  # appeared while we were writing
            raise OutputExistsError(path)
        # mkstemp creates files readable by the owner only; outputs get the usual mode.
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text_atomic(path: str | Path, text: str, overwrite: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    with atomic_output(path, overwrite) as tmp:
        tmp.write_text(text)
    return Path(path)
