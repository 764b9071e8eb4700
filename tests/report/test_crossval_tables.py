"""Cross-validation tables: a patient's scans are averaged before the patients are."""

from __future__ import annotations

import math

import pytest

from mslesion.report.crossval import (
    overall_means,
    patient_means,
    records_table,
    robustness_rows,
)


def _row(subject: str, case: str, dice: float, degradation: str = "clean", **kw) -> dict:
    return {
        "method": "m",
        "fold": "fold0",
        "case": case,
        "subject": subject,
        "degradation": degradation,
        "threshold": 0.5,
        "dice": dice,
        "lesion_f1": kw.get("lesion_f1", dice),
        "lesion_tpr": kw.get("lesion_tpr", dice),
        "lesion_tpr_small": kw.get("lesion_tpr_small", float("nan")),
    }


def test_a_patient_with_three_scans_weighs_as_one_patient():
    rows = [
        _row("P14", "P14_T1", 0.9),
        _row("P14", "P14_T2", 0.8),
        _row("P14", "P14_T3", 0.7),
        _row("P18", "P18_T1", 0.2),
    ]
    patients = {p["subject"]: p for p in patient_means(rows)}
    assert patients["P14"]["scans"] == 3
    assert patients["P14"]["dice"] == pytest.approx(0.8)
    (overall,) = overall_means(patient_means(rows))
    assert overall["patients"] == 2
    assert overall["dice"] == pytest.approx(0.5)  # not (0.9+0.8+0.7+0.2)/4 = 0.65
    # undefined everywhere -> NaN, printed empty
    assert math.isnan(overall["lesion_tpr_small"])
    table = records_table([overall], ("method", "dice", "lesion_tpr_small"))
    assert table.splitlines()[-1] == "| m | 0.500 |  |"


def test_robustness_rows_measure_change_against_clean_of_the_same_method():
    rows = [
        _row("A", "a", 0.8),
        _row("B", "b", 0.6),
        _row("A", "a", 0.5, "thick:5"),
        _row("B", "b", 0.5, "thick:5"),
    ]
    rob = {r["degradation"]: r for r in robustness_rows(overall_means(patient_means(rows)))}
    assert rob["clean"]["dice_change"] == pytest.approx(0.0)
    assert rob["thick:5"]["dice"] == pytest.approx(0.5)
    assert rob["thick:5"]["dice_change"] == pytest.approx(-0.2)
