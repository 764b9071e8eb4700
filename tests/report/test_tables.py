"""Markdown and CSV tables."""

from __future__ import annotations

import csv

from mslesion.report.tables import comparison_table, format_cell, stratified_table, write_csv


def records() -> list[dict]:
    return [
        {"method": "A", "metric": "dice", "n": 3, "mean": 0.81234, "std": 0.05, "stratum": "all"},
        {"method": "A", "metric": "lesion_tpr", "n": 3, "mean": 0.7, "std": 0.1, "stratum": "all"},
        {"method": "B", "metric": "dice", "n": 3, "mean": 0.6, "std": 0.2, "stratum": "all"},
        {"method": "B", "metric": "dice", "n": 1, "mean": 0.5, "std": 0.0, "stratum": "load_low"},
    ]


def test_format_cell() -> None:
    assert format_cell(0.81234, 0.05, 3) == "0.812 ± 0.050"
    assert format_cell(float("nan"), 0.0, 0) == "–"


def test_comparison_table_layout() -> None:
    text = comparison_table([r for r in records() if r["stratum"] == "all"])
    lines = text.strip().splitlines()
    assert lines[0] == "| Method | DSC | LTPR |"  # columns nobody has are dropped
    assert lines[2] == "| A | 0.812 ± 0.050 | 0.700 ± 0.100 |"
    assert lines[3] == "| B | 0.600 ± 0.200 | – |"


def test_stratified_table() -> None:
    text = stratified_table(records(), "dice", "stratum", titles={"load_low": "low"})
    assert "| Method | low | all |" in text  # titled strata first
    assert "| B | 0.500 ± 0.000 (n=1) | 0.600 ± 0.200 (n=3) |" in text
    assert "| A | – | 0.812 ± 0.050 (n=3) |" in text


def test_write_csv_unions_columns(tmp_path) -> None:
    path = write_csv([{"a": 1, "b": float("nan")}, {"a": 2, "c": "x"}], tmp_path / "t.csv")
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0] == {"a": "1", "b": "nan", "c": ""}
    assert rows[1]["c"] == "x"
