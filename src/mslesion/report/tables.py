"""CSV and Markdown tables of evaluation results, in the layout of the seed papers' tables.

Rows are flat dicts (see :mod:`mslesion.metrics.aggregate`); summary records are the
long-format output of :func:`mslesion.metrics.aggregate.summary_table`.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from mslesion.io.atomic import atomic_output

#: (metric key, column title) of the main comparison table: SynergyNet's DSC, AP, LTPR, LFPR
#: and voxel sensitivity, then F.sh's precision / specificity, and the modern nDSC and HD95.
PAPER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("dice", "DSC"),
    ("ndsc", "nDSC"),
    ("voxel_ap", "AP"),
    ("lesion_tpr", "LTPR"),
    ("lesion_fpr", "LFPR"),
    ("lesion_f1", "Lesion F1"),
    ("sensitivity", "Sensitivity"),
    ("precision", "Precision"),
    ("specificity", "Specificity"),
    ("hd95", "HD95 (mm)"),
)

#: F.sh's table: accuracy, sensitivity, specificity, precision, F1 and 3D Dice.
FSH_COLUMNS: tuple[tuple[str, str], ...] = (
    ("accuracy", "Accuracy"),
    ("sensitivity", "Sensitivity"),
    ("specificity", "Specificity"),
    ("precision", "Precision"),
    ("f1", "F1"),
    ("dice", "Dice"),
)


def write_csv(
    rows: Sequence[Mapping[str, object]], path: str | Path, overwrite: bool = False
) -> Path:
    """Write rows atomically; the header is the union of keys in first-seen order."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    with atomic_output(path, overwrite) as tmp, tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_value(v) for k, v in row.items()})
    return Path(path)


def _csv_value(value: object) -> object:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return value


def format_cell(mean: float, std: float, n: int, digits: int = 3) -> str:
    """``"0.812 ± 0.050"``; ``"–"`` when no case defined the metric."""
    if n == 0 or not math.isfinite(mean):
        return "–"
    if not math.isfinite(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def markdown_table(header: Sequence[str], body: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table (first column left-aligned, the rest right-aligned)."""
    align = [":--"] + ["--:"] * (len(header) - 1)
    lines = ["| " + " | ".join(str(h) for h in header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def _index(
    records: Sequence[Mapping[str, object]], row_key: str
) -> dict[str, dict[str, Mapping[str, object]]]:
    table: dict[str, dict[str, Mapping[str, object]]] = {}
    for rec in records:
        table.setdefault(str(rec[row_key]), {})[str(rec["metric"])] = rec
    return table


def comparison_table(
    records: Sequence[Mapping[str, object]],
    columns: Sequence[tuple[str, str]] = PAPER_COLUMNS,
    row_key: str = "method",
    digits: int = 3,
) -> str:
    """Methods as rows, metrics as columns, cells "mean ± std" (papers' layout).

    ``records``: summary records with ``row_key``, ``metric``, ``mean``, ``std`` and ``n``.
    Columns no record has are dropped (e.g. AP without probability maps).
    """
    table = _index(records, row_key)
    present = [(k, t) for k, t in columns if any(k in by_metric for by_metric in table.values())]
    body = []
    for name, by_metric in table.items():
        cells = []
        for key, _ in present:
            rec = by_metric.get(key)
            cells.append(
                "–" if rec is None else format_cell(rec["mean"], rec["std"], rec["n"], digits)  # type: ignore[arg-type]
            )
        body.append([name, *cells])
    return markdown_table(["Method", *[t for _, t in present]], body)


def stratified_table(
    records: Sequence[Mapping[str, object]],
    metric: str = "dice",
    stratum_key: str = "load_class",
    row_key: str = "method",
    titles: Mapping[str, str] | None = None,
    digits: int = 3,
) -> str:
    """One metric split by stratum (SynergyNet's DSC by lesion load): methods x strata.

    ``titles`` maps stratum values to column titles (default: the values themselves) and
    sets the column order.
    """
    strata: dict[str, None] = {}
    cells: dict[str, dict[str, str]] = {}
    for rec in records:
        if rec.get("metric") != metric or stratum_key not in rec:
            continue
        stratum = str(rec[stratum_key])
        strata[stratum] = None
        cells.setdefault(str(rec[row_key]), {})[stratum] = (
            format_cell(rec["mean"], rec["std"], rec["n"], digits) + f" (n={rec['n']})"  # type: ignore[arg-type]
        )
    titles = titles or {}
    # Columns in the order of ``titles`` first, then any other strata as first seen.
    order = [s for s in titles if s in strata] + [s for s in strata if s not in titles]
    header = ["Method", *[titles.get(s, s) for s in order]]
    body = [[name, *[row.get(s, "–") for s in order]] for name, row in cells.items()]
    return markdown_table(header, body)
