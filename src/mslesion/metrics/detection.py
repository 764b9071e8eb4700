"""Average precision from a probability map: voxel-wise and lesion-level.

AP is the step-wise area under the precision-recall curve,
AP = sum_k (R_k - R_{k-1}) P_k over decreasing thresholds (the definition of
``sklearn.metrics.average_precision_score``, which SynergyNet reports). AP is NaN when the
truth is empty (recall is undefined).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mslesion.metrics.lesion import LesionConfig, lesion_scores, match_lesions

Spacing = Sequence[float]

#: Probabilities are binned to multiples of 1 / VOXEL_AP_BINS (error <= 5e-5 in probability).
VOXEL_AP_BINS = 10_000


def _step_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    """sum (R_k - R_{k-1}) P_k for points ordered by decreasing threshold."""
    delta = np.diff(recall, prepend=0.0)
    return float(np.sum(delta * precision))


def voxel_average_precision(
    prob: np.ndarray,
    truth: np.ndarray,
    brain_mask: np.ndarray | None = None,
    n_bins: int = VOXEL_AP_BINS,
) -> float:
    """Voxel-wise AP of a probability map (X, Y, Z) in [0, 1] against a binary truth.

    Hand-written rather than ``sklearn.metrics.average_precision_score`` because sorting the
    ~7 M voxels of a 1 mm brain is slow: probabilities are rounded to ``n_bins`` levels and
    per-level positive/negative counts come from two ``np.bincount`` passes. It equals sklearn
    exactly when the probabilities already lie on that grid (e.g. 8-bit or 1/n_bins steps).
    """
    p = np.asarray(prob, dtype=np.float64)
    t = np.asarray(truth) > 0
    if p.shape != t.shape:
        raise ValueError(f"shapes differ: prob {p.shape} vs truth {t.shape}")
    if brain_mask is not None:
        roi = np.asarray(brain_mask) > 0
        p, t = p[roi], t[roi]
    n_pos = int(np.count_nonzero(t))
    if n_pos == 0:
        return float("nan")
    level = np.rint(np.clip(p, 0.0, 1.0) * n_bins).astype(np.int64).ravel()
    t = t.ravel()
    pos = np.bincount(level[t], minlength=n_bins + 1)[::-1]
    total = np.bincount(level, minlength=n_bins + 1)[::-1]
    occupied = total > 0  # a threshold exists only where some voxel has that value
    tp = np.cumsum(pos)[occupied]
    predicted = np.cumsum(total)[occupied]
    return _step_ap(tp / predicted, tp / n_pos)


def lesion_average_precision(
    prob: np.ndarray,
    truth: np.ndarray,
    spacing: Spacing = (1.0, 1.0, 1.0),
    config: LesionConfig | None = None,
    threshold: float = 0.5,
) -> float:
    """Lesion-level AP: predicted lesions (components of ``prob >= threshold``) ranked by score.

    A predicted lesion's score is its maximum probability; it is a true positive when the
    matching rule accepts it. A truth lesion counts as recalled at score s when a predicted
    lesion matched to it scores >= s. Truth lesions no component reaches are never recalled,
    so AP <= lesion TPR. NaN when the truth has no lesion; 0.0 when nothing is predicted.
    """
    config = config or LesionConfig()
    prob = np.asarray(prob, dtype=np.float32)
    match = match_lesions(prob >= threshold, truth, spacing, config)
    n_true = match.truth.n
    if n_true == 0:
        return float("nan")
    if match.pred.n == 0:
        return 0.0
    scores = lesion_scores(match.pred.labels, match.pred.n, prob)
    truth_score = np.full(n_true, -np.inf)
    if match.matched.size:
        np.maximum.at(truth_score, match.matched[:, 0] - 1, scores[match.matched[:, 1] - 1])
    thresholds = np.unique(scores)[::-1]

    # Counts of items scoring >= each threshold, via sorted arrays and searchsorted.
    def at_least(values: np.ndarray) -> np.ndarray:
        ordered = np.sort(values)
        return ordered.size - np.searchsorted(ordered, thresholds, side="left")

    n_pred_at = at_least(scores)
    n_tp_at = at_least(scores[match.pred_true])
    n_recalled_at = at_least(truth_score)
    return _step_ap(n_tp_at / n_pred_at, n_recalled_at / n_true)
