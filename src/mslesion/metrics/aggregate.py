"""Per-case metric rows -> dataset summaries (mean, std, median, bootstrap CI) and strata.

A *row* is a flat ``dict[str, object]`` for one case (and one method): ``case``, ``method``,
the voxel/lesion/detection metrics, and stratum labels such as ``load_class``. NaN values
(undefined metrics, see :mod:`mslesion.metrics.voxel`) are left out of each summary, whose
``n`` says how many cases it used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

#: SynergyNet splits cases by total lesion load: below this many voxels is "low".
LOAD_CUTOFF_VOXELS = 2048

Row = Mapping[str, object]


def load_class(lesion_voxels: float, cutoff: int = LOAD_CUTOFF_VOXELS) -> str:
    """``"low"`` when a case's truth lesion load is below ``cutoff`` voxels, else ``"high"``."""
    return "low" if lesion_voxels < cutoff else "high"


@dataclass(frozen=True)
class Summary:
    """Summary of one metric over cases. ``ci_low``/``ci_high``: bootstrap CI of the mean."""

    n: int
    mean: float
    std: float
    median: float
    ci_low: float
    ci_high: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class BootstrapConfig:
    """Percentile bootstrap of the mean: ``n_resamples`` draws, seeded, ``level`` coverage."""

    n_resamples: int = 2000
    level: float = 0.95
    seed: int = 0


def summarize(values: Iterable[float], boot: BootstrapConfig = BootstrapConfig()) -> Summary:
    """Mean, sample std, median and bootstrap CI of the finite ``values``."""
    arr = np.asarray([float(v) for v in values], dtype=float)
    arr = arr[np.isfinite(arr)]
    n = int(arr.size)
    if n == 0:
        nan = float("nan")
        return Summary(0, nan, nan, nan, nan, nan)
    mean = float(arr.mean())
    std = float(arr.std(ddof=1)) if n > 1 else 0.0
    rng = np.random.default_rng(boot.seed)
    # All resamples at once: an (n_resamples, n) index matrix, one mean per row.
    means = arr[rng.integers(0, n, size=(boot.n_resamples, n))].mean(axis=1)
    tail = (1.0 - boot.level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return Summary(n, mean, std, float(np.median(arr)), float(lo), float(hi))


def numeric_keys(rows: Sequence[Row]) -> list[str]:
    """Keys (in first-seen order) whose values are numbers in every row that has them."""
    keys: dict[str, bool] = {}
    for row in rows:
        for key, value in row.items():
            is_num = isinstance(value, int | float | np.floating | np.integer) and not isinstance(
                value, bool
            )
            keys[key] = keys.get(key, True) and is_num
    return [k for k, ok in keys.items() if ok]


def summarize_rows(
    rows: Sequence[Row],
    metrics: Sequence[str] | None = None,
    boot: BootstrapConfig = BootstrapConfig(),
) -> dict[str, Summary]:
    """One :class:`Summary` per metric over ``rows`` (default: every numeric column)."""
    metrics = list(metrics) if metrics is not None else numeric_keys(rows)
    return {m: summarize((r[m] for r in rows if m in r), boot) for m in metrics}  # type: ignore[misc]


def group_rows(rows: Sequence[Row], key: str) -> dict[str, list[Row]]:
    """Rows grouped by the value of ``key`` (first-seen order); rows without it are skipped."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        if key in row:
            groups.setdefault(str(row[key]), []).append(row)
    return groups


def summary_table(
    rows: Sequence[Row],
    metrics: Sequence[str] | None = None,
    by: Sequence[str] = ("method",),
    boot: BootstrapConfig = BootstrapConfig(),
) -> list[dict[str, object]]:
    """Long-format summary: one record per (group..., metric) with n, mean, std, median, CI.

    ``by`` names the grouping columns (e.g. ``("method", "load_class")``); an ``"all"``
    stratum is not added automatically: call once with ``by=("method",)`` for the overall row.
    """
    out: list[dict[str, object]] = []

    def recurse(subset: Sequence[Row], keys: Sequence[str], labels: dict[str, str]) -> None:
        if not keys:
            for metric, summ in summarize_rows(subset, metrics, boot).items():
                out.append({**labels, "metric": metric, **summ.as_dict()})
            return
        for value, group in group_rows(subset, keys[0]).items():
            recurse(group, keys[1:], {**labels, keys[0]: value})

    recurse(rows, list(by), {})
    return out
