"""Average precision: voxel-wise against scikit-learn, lesion-level against a hand count."""

from __future__ import annotations

import math

import numpy as np
import pytest
from metric_masks import cube, random_blobs

from mslesion.metrics.detection import lesion_average_precision, voxel_average_precision
from mslesion.metrics.lesion import LesionConfig

sk_metrics = pytest.importorskip("sklearn.metrics")


def noisy_prob(truth: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(0.35 * truth + rng.beta(1.2, 4.0, size=truth.shape), 0, 1)


def test_voxel_ap_equals_sklearn_on_grid_probabilities() -> None:
    truth = random_blobs((24, 24, 24), n=6, seed=0)
    prob = np.round(noisy_prob(truth, 1) * 200) / 200  # values on a 1/200 grid: binning is exact
    ref = sk_metrics.average_precision_score(truth.ravel(), prob.ravel())
    assert voxel_average_precision(prob, truth, n_bins=200) == pytest.approx(ref, abs=1e-12)


def test_voxel_ap_close_to_sklearn_on_continuous_probabilities() -> None:
    truth = random_blobs((24, 24, 24), n=6, seed=2)
    prob = noisy_prob(truth, 3)
    ref = sk_metrics.average_precision_score(truth.ravel(), prob.ravel())
    assert voxel_average_precision(prob, truth) == pytest.approx(ref, abs=2e-3)


def test_voxel_ap_perfect_and_empty_and_brain_mask() -> None:
    truth = cube((10, 10, 10), (2, 2, 2), 3)
    assert voxel_average_precision(truth.astype(float), truth) == 1.0
    assert math.isnan(voxel_average_precision(np.zeros((10, 10, 10)), np.zeros((10, 10, 10))))
    prob = truth * 0.6
    prob[9, 9, 9] = 0.9  # a confident false positive outside the brain
    brain = cube((10, 10, 10), (0, 0, 0), 8)
    assert voxel_average_precision(prob, truth) < 1.0
    assert voxel_average_precision(prob, truth, brain_mask=brain) == 1.0


def test_lesion_ap_hand_counted() -> None:
    shape = (30, 30, 30)
    truth = cube(shape, (2, 2, 2), 3) | cube(shape, (12, 2, 2), 3) | cube(shape, (22, 22, 22), 3)
    prob = np.zeros(shape, np.float32)
    prob[2:5, 2:5, 2:5] = 0.9  # hits truth lesion 1
    prob[2:5, 12:15, 12:15] = 0.8  # spurious
    prob[12:15, 2:5, 2:5] = 0.7  # hits truth lesion 2; lesion 3 is never found
    # Ranked 0.9 (TP), 0.8 (FP), 0.7 (TP) with 3 truth lesions:
    # AP = 1/3 * 1 + 0 * 1/2 + 1/3 * 2/3 = 5/9.
    assert lesion_average_precision(prob, truth) == pytest.approx(5 / 9)
    assert lesion_average_precision(
        prob, truth, config=LesionConfig(matching="iou:0.5")
    ) == pytest.approx(5 / 9)
    assert lesion_average_precision(np.zeros(shape), truth) == 0.0
    assert math.isnan(lesion_average_precision(prob, np.zeros(shape, np.uint8)))
