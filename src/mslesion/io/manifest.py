"""CSV manifests: one row per case (``case_id, subject, timepoint, flair, t1, t2, lesion_mask,
brain_mask, source``), read by :func:`read_manifest` and written by :func:`write_manifest`.

:func:`mslesion.io.datasets.find_cases` accepts a manifest wherever it accepts a folder.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from mslesion.errors import InputError
from mslesion.io.atomic import write_text_atomic
from mslesion.io.cases import Case

MANIFEST_COLUMNS: tuple[str, ...] = (
    "case_id",
    "subject",
    "timepoint",
    "flair",
    "t1",
    "t2",
    "lesion_mask",
    "brain_mask",
    "source",
)
_PATH_COLUMNS = ("flair", "t1", "t2", "lesion_mask", "brain_mask")
_REQUIRED_COLUMNS = ("case_id", "flair")


def read_manifest(path: str | Path) -> list[Case]:
    """Cases from a CSV with columns ``case_id, subject, timepoint, flair, t1, t2, lesion_mask,
    brain_mask`` (only ``case_id`` and ``flair`` are required; empty cells mean absent).

    Relative paths are resolved against the CSV's folder; extra columns land in ``Case.extra``.

    Raises:
        InputError: unreadable CSV, missing required columns, empty or duplicate case ids,
            or a listed file that does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "manifest not found")
    try:
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            rows = [
                {(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, f"not a readable CSV file ({exc})") from exc
    missing = [c for c in _REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InputError(
            path,
            f"manifest lacks column(s) {', '.join(missing)} (has: {', '.join(columns) or 'none'})",
        )
    if not rows:
        raise InputError(path, "manifest lists no cases")
    cases: list[Case] = []
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        cases.append(_manifest_row(path, line, row, seen))
    return cases


def _manifest_row(path: Path, line: int, row: dict[str, str], seen: set[str]) -> Case:
    case_id = row.get("case_id", "")
    if not case_id:
        raise InputError(path, f"line {line}: empty case_id")
    if case_id in seen:
        raise InputError(path, f"line {line}: duplicate case_id {case_id!r}")
    seen.add(case_id)
    if not row.get("flair"):
        raise InputError(path, f"line {line} ({case_id}): empty flair path")
    paths: dict[str, Path | None] = {}
    for column in _PATH_COLUMNS:
        value = row.get(column, "")
        if not value:
            paths[column] = None
            continue
        resolved = (path.parent / value).resolve() if not Path(value).is_absolute() else Path(value)
        if not resolved.is_file():
            raise InputError(path, f"line {line} ({case_id}): {column} file {value} not found")
        paths[column] = resolved
    extra = {k: v for k, v in row.items() if k not in MANIFEST_COLUMNS and k}
    return Case(
        case_id=case_id,
        subject=row.get("subject") or case_id,
        timepoint=row.get("timepoint") or None,
        source=row.get("source") or "csv",
        extra=extra,
        **paths,  # type: ignore[arg-type]
    )


def write_manifest(cases: list[Case], path: str | Path, overwrite: bool = False) -> Path:
    """Write ``cases`` as a CSV manifest, atomically; paths inside the CSV's folder are relative."""
    path = Path(path)
    base = path.parent.resolve()
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(MANIFEST_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for case in cases:
        row = {
            "case_id": case.case_id,
            "subject": case.subject,
            "timepoint": case.timepoint or "",
            "source": case.source,
        }
        for column in _PATH_COLUMNS:
            row[column] = _manifest_path(getattr(case, column), base)
        writer.writerow(row)
    return write_text_atomic(path, buf.getvalue(), overwrite=overwrite)


def _manifest_path(value: Path | None, base: Path) -> str:
    if value is None:
        return ""
    absolute = Path(value).resolve()
    if absolute.is_relative_to(base):
        return os.path.relpath(absolute, base)
    return str(absolute)
