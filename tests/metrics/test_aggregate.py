"""Per-case rows -> summaries and strata."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mslesion.metrics.aggregate import (
    BootstrapConfig,
    group_rows,
    load_class,
    numeric_keys,
    summarize,
    summary_table,
)


def test_summary_statistics_match_numpy() -> None:
    values = [0.2, 0.5, 0.9, 0.4, float("nan")]
    s = summarize(values)
    finite = np.array(values[:4])
    assert s.n == 4
    assert s.mean == pytest.approx(finite.mean())
    assert s.std == pytest.approx(finite.std(ddof=1))
    assert s.median == pytest.approx(np.median(finite))
    assert finite.min() <= s.ci_low < s.mean < s.ci_high <= finite.max()


def test_bootstrap_is_seeded_and_narrows_with_more_cases() -> None:
    rng = np.random.default_rng(0)
    few, many = rng.normal(0.7, 0.1, 8), rng.normal(0.7, 0.1, 200)
    assert summarize(few) == summarize(few)
    assert summarize(few, BootstrapConfig(seed=1)) != summarize(few, BootstrapConfig(seed=2))
    width = lambda s: s.ci_high - s.ci_low  # noqa: E731
    assert width(summarize(many)) < width(summarize(few))


def test_empty_and_single_value() -> None:
    assert summarize([]).n == 0 and math.isnan(summarize([float("nan")]).mean)
    one = summarize([0.3])
    assert (one.mean, one.std, one.ci_low, one.ci_high) == (0.3, 0.0, 0.3, 0.3)


def test_summary_table_groups_by_method_and_stratum() -> None:
    rows = [
        {"case": "a", "method": "m1", "dice": 0.8, "load_class": "low", "flag": True},
        {"case": "b", "method": "m1", "dice": 0.6, "load_class": "high", "flag": False},
        {"case": "a", "method": "m2", "dice": 0.4, "load_class": "low", "flag": True},
    ]
    assert numeric_keys(rows) == ["dice"]
    assert list(group_rows(rows, "method")) == ["m1", "m2"]
    overall = {(r["method"], r["metric"]): r for r in summary_table(rows)}
    assert overall[("m1", "dice")]["mean"] == pytest.approx(0.7)
    assert overall[("m2", "dice")]["n"] == 1
    strata = summary_table(rows, by=("method", "load_class"))
    keyed = {(r["method"], r["load_class"]): r["mean"] for r in strata}
    assert keyed == {("m1", "low"): 0.8, ("m1", "high"): 0.6, ("m2", "low"): 0.4}


def test_load_class_cutoff() -> None:
    assert load_class(2047) == "low" and load_class(2048) == "high"
