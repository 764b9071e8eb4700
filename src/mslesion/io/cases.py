"""The :class:`Case` record shared by dataset discovery, training, evaluation and segmentation."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path


@dataclass(frozen=True)
class Case:
    """One scan session: a FLAIR and whatever else was found beside it.

    ``subject`` groups the time points of one patient, so that splits never put one patient on
    both sides (e.g. MSLesSeg P14's T1, T2, T3 share ``subject="P14"``).
    """

    case_id: str
    subject: str
    flair: Path
    timepoint: str | None = None
    t1: Path | None = None
    t2: Path | None = None
    lesion_mask: Path | None = None
    brain_mask: Path | None = None
    source: str = "flat"  # layout it was found in: open_ms_data, mslesseg, nnunet, bids, flat, csv
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def sequences(self) -> list[str]:
        """Names of the image sequences present, e.g. ``["FLAIR", "T1"]``."""
        return ["FLAIR"] + [n for n, p in (("T1", self.t1), ("T2", self.t2)) if p is not None]

    def with_paths(self, **paths: Path | None) -> Case:
        return replace(self, **paths)
