"""Errors that reach the user as one clear line (see ``mslesion.cli.main``)."""

from __future__ import annotations

from pathlib import Path


class MSLesionError(Exception):
    """Base class for errors the CLI reports as a single line without a traceback."""


class InputError(MSLesionError, ValueError):
    """A user-supplied file or value is unusable; the message names the file and the problem.

    ``InputError(path, "is 2D (shape 64x64); a 3D volume is needed")`` renders as
    ``"<path>: is 2D (shape 64x64); a 3D volume is needed"``.
    """

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem
        super().__init__(problem if path is None else f"{path}: {problem}")


class OutputExistsError(MSLesionError, FileExistsError):
    """An output file already exists and ``overwrite`` was not asked for."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        super().__init__(f"{path}: already exists (pass --overwrite to replace it)")


class ConfigError(MSLesionError, ValueError):
    """A configuration value is invalid; the message names the key and the problem."""
