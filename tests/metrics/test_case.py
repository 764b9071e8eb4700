"""evaluate_case: one row with voxel, lesion and detection metrics."""

from __future__ import annotations

import numpy as np
import pytest
from metric_masks import cube

from mslesion.metrics.case import EvalConfig, evaluate_case


def test_evaluate_case_row_and_lesions() -> None:
    shape = (20, 20, 20)
    truth = cube(shape, (2, 2, 2), 4) | cube(shape, (12, 12, 12), 3)
    pred = cube(shape, (2, 2, 2), 4) | cube(shape, (14, 2, 2), 2)
    prob = np.where(pred > 0, 0.9, 0.05)
    res = evaluate_case(pred, truth, (1.0, 1.0, 2.0), prob=prob)
    row = res.row
    assert row["dice"] == pytest.approx(2 * 64 / (72 + 91))
    assert (row["n_true"], row["n_pred"], row["lesion_tpr"]) == (2, 2, 0.5)
    assert row["lesion_load_voxels"] == 91 and row["lesion_load_mm3"] == 182
    assert row["load_class"] == "low"
    assert 0 < row["voxel_ap"] < 1 and row["lesion_ap"] == pytest.approx(0.5 * 0.5 + 0.0)
    assert len(res.lesions) == 4


def test_brain_mask_and_no_surface() -> None:
    shape = (12, 12, 12)
    truth = cube(shape, (2, 2, 2), 3)
    pred = truth | cube(shape, (10, 10, 10), 2)
    brain = cube(shape, (0, 0, 0), 8)
    row = evaluate_case(pred, truth, brain_mask=brain, config=EvalConfig(surface=False)).row
    assert row["dice"] == 1.0 and row["n_pred"] == 1 and np.isnan(row["hd95"])
