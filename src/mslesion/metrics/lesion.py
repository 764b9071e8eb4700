"""Lesion-wise metrics: lesions are 3D connected components, matched between truth and prediction.

Matching strategies (one interface, :class:`Matching`, parsed from ``"any"``,
``"fraction:0.5"`` or ``"iou:0.1"``):

- ``any``: a truth lesion is detected when any predicted lesion overlaps it, and a predicted
  lesion is true when it overlaps any truth lesion (ISBI 2015 LTPR / LFPR).
- ``fraction:t``: a truth lesion is detected when predicted lesions cover at least a fraction
  ``t`` of its voxels, and a predicted lesion is true when truth lesions cover at least ``t`` of
  it (the MSSEG-style overlap criterion, without MSSEG's split/merge sub-rules).
- ``iou:t``: one-to-one assignment of truth to predicted lesions maximising the total IoU
  (Hungarian, :func:`scipy.optimize.linear_sum_assignment`); a pair counts when IoU >= t.

Derived rates (NaN when their denominator is 0, i.e. skipped when averaging cases):
lesion_tpr = detected truth / n_true; lesion_fpr = false predicted / n_pred (SynergyNet's
FPL / (TPL + FPL), counted on predicted lesions); lesion_precision = 1 - lesion_fpr;
lesion_f1 = harmonic mean of precision and TPR (1.0 when both masks have no lesion, 0.0 when
exactly one has none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import cc3d
import numpy as np
from scipy import ndimage
from scipy.optimize import linear_sum_assignment

from mslesion.errors import ConfigError

Spacing = Sequence[float]
MatchKind = Literal["any", "fraction", "iou"]

#: SynergyNet's "small lesion": bounding-box volume below this many voxels.
SMALL_BOX_VOXELS = 1500


def label_lesions(
    mask: np.ndarray, connectivity: int = 26, min_size_voxels: int = 0
) -> tuple[np.ndarray, int]:
    """Label the 3D connected components of a binary (X, Y, Z) mask.

    Args:
        mask: any value > 0 is foreground.
        connectivity: 6 (faces), 18 (faces + edges) or 26 (faces + edges + corners).
        min_size_voxels: components with fewer voxels are dropped.

    Returns:
        (labels int32 (X, Y, Z) with lesions numbered 1..n in scan order, n).
    """
    if connectivity not in (6, 18, 26):
        raise ConfigError(f"connectivity must be 6, 18 or 26, got {connectivity}")
    binary = np.ascontiguousarray(np.asarray(mask) > 0, dtype=np.uint8)
    if min_size_voxels > 1:
        binary = cc3d.dust(binary, threshold=int(min_size_voxels), connectivity=connectivity)
    labels, n = cc3d.connected_components(binary, connectivity=connectivity, return_N=True)
    return labels.astype(np.int32, copy=False), int(n)


def lesion_shape(points: np.ndarray) -> tuple[float, float]:
    """(elongation, fill) of one lesion from its (N, 3) voxel coordinates (N >= 2).

    Elongation: sqrt of the largest over the smallest eigenvalue of the coordinates'
    covariance (1 for a ball; MS lesions are ovoid, ~2.2). Fill: N over the volume of the
    ellipsoid with the same second moments (~1 for a solid ellipsoid, lower for lobed, bent
    or ragged lesions). Each voxel's own spread (1/12 per axis) is added, so that a lesion one
    voxel thin stays finite. Hand-written: no library ships these two numbers per component.
    """
    eig = np.sort(np.linalg.eigvalsh(np.cov(np.asarray(points, float).T) + np.eye(3) / 12.0))
    elongation = float(np.sqrt(eig[2] / eig[0]))
    fill = float(len(points) / (4.0 / 3.0 * np.pi * np.prod(np.sqrt(5.0 * eig))))
    return elongation, fill


def thin_share(lesion: np.ndarray, radius_vox: int = 2) -> float:
    """Share of one lesion's voxels (bool array holding that lesion alone) that a morphological
    opening by a ball of ``radius_vox`` voxels removes: its spikes, bridges and lace, the parts
    under ~2 ``radius_vox`` + 1 voxels across (0 for a thick blob, 1 for a thin rod). The real
    masks' lesions of >= 5,000 voxels measure 0.37 pooled at the default radius
    (``benchmarks/synth_realism.py``). Hand-written: no library ships this per-lesion share."""
    r = int(radius_vox)
    ball = (np.mgrid[-r : r + 1, -r : r + 1, -r : r + 1] ** 2).sum(0) <= r * r
    opened = ndimage.binary_opening(np.pad(lesion, r + 1), ball)  # (room for the ball)
    return 1.0 - float(opened.sum()) / max(int(np.count_nonzero(lesion)), 1)


def min_size_voxels(min_size_mm3: float, voxel_volume_mm3: float) -> int:
    """Smallest lesion kept, in voxels (a lesion of exactly ``min_size_mm3`` is kept; 0 keeps
    everything)."""
    if min_size_mm3 <= 0:
        return 0
    return int(np.ceil(min_size_mm3 / voxel_volume_mm3 - 1e-9))


def min_size_voxels_for(min_size_mm3: float, spacing: Spacing) -> int:
    """:func:`min_size_voxels` for voxels of the given (X, Y, Z) spacing in mm."""
    return min_size_voxels(min_size_mm3, float(np.prod(np.asarray(spacing, dtype=float))))


@dataclass(frozen=True)
class Matching:
    """How truth and predicted lesions are paired; see the module docstring."""

    kind: MatchKind = "any"
    threshold: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("any", "fraction", "iou"):
            raise ConfigError(f"matching must be any, fraction:T or iou:T, got {self.kind!r}")
        if self.kind != "any" and not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"matching threshold must be in (0, 1], got {self.threshold}")

    @classmethod
    def parse(cls, text: str | Matching) -> Matching:
        """``"any"``, ``"fraction:0.5"`` or ``"iou:0.1"`` -> Matching."""
        if isinstance(text, Matching):
            return text
        kind, _, value = str(text).strip().lower().partition(":")
        if kind == "any":
            return cls("any")
        try:
            threshold = float(value)
        except ValueError:
            raise ConfigError(
                f"matching must look like any, fraction:0.5 or iou:0.1, got {text!r}"
            ) from None
        return cls(kind, threshold)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return "any" if self.kind == "any" else f"{self.kind}:{self.threshold:g}"


@dataclass(frozen=True)
class LesionConfig:
    """Lesion definition and matching rule.

    Attributes:
        connectivity: 6, 18 or 26 (default 26, the ISBI / MSSEG convention).
        min_size_mm3: lesions smaller than this (in truth and prediction) are ignored.
        matching: a :class:`Matching` (or its text form).
        small_box_voxels: lesions whose bounding box holds fewer voxels are "small".
    """

    connectivity: int = 26
    min_size_mm3: float = 0.0
    matching: Matching = field(default_factory=Matching)
    small_box_voxels: int = SMALL_BOX_VOXELS

    def __post_init__(self) -> None:
        object.__setattr__(self, "matching", Matching.parse(self.matching))
        if self.connectivity not in (6, 18, 26):
            raise ConfigError(f"connectivity must be 6, 18 or 26, got {self.connectivity}")
        if self.min_size_mm3 < 0:
            raise ConfigError(f"min lesion size must be >= 0 mm^3, got {self.min_size_mm3}")


@dataclass(frozen=True)
class Lesions:
    """The components of one label map. Arrays are indexed by lesion id - 1.

    Attributes:
        labels: int32 (X, Y, Z), 0 = background, 1..n = lesions.
        n: number of lesions.
        voxels: (n,) voxel counts.
        centroids: (n, 3) centroids in voxel coordinates.
        box_voxels: (n,) bounding-box volumes in voxels.
    """

    labels: np.ndarray
    n: int
    voxels: np.ndarray
    centroids: np.ndarray
    box_voxels: np.ndarray


def find_lesions(mask: np.ndarray, spacing: Spacing, config: LesionConfig) -> Lesions:
    """Label ``mask`` and measure its lesions (one cc3d statistics pass)."""
    labels, n = label_lesions(
        mask, config.connectivity, min_size_voxels_for(config.min_size_mm3, spacing)
    )
    if n == 0:
        return Lesions(labels, 0, np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros(0, np.int64))
    stats = cc3d.statistics(labels)
    boxes = stats["bounding_boxes"][1 : n + 1]
    box_voxels = np.array(
        [np.prod([s.stop - s.start for s in box]) for box in boxes], dtype=np.int64
    )
    return Lesions(
        labels=labels,
        n=n,
        voxels=np.asarray(stats["voxel_counts"][1 : n + 1], dtype=np.int64),
        centroids=np.asarray(stats["centroids"][1 : n + 1], dtype=float),
        box_voxels=box_voxels,
    )


@dataclass(frozen=True)
class LesionMatch:
    """Result of matching truth to predicted lesions.

    Attributes:
        truth, pred: the two lesion sets.
        pairs: (m, 3) int64 rows (truth id, pred id, overlap voxels) for every overlapping pair.
        matched: (k, 2) int64 rows (truth id, pred id) of the pairs the rule accepted
            (one-to-one for ``iou``, many-to-many otherwise).
        truth_detected: (n_true,) bool. pred_true: (n_pred,) bool.
        truth_best_iou, pred_best_iou: best IoU of each lesion with any lesion of the other set.
        truth_coverage, pred_coverage: fraction of each lesion covered by the other set.
        matching: the rule used.
    """

    truth: Lesions
    pred: Lesions
    pairs: np.ndarray
    matched: np.ndarray
    truth_detected: np.ndarray
    pred_true: np.ndarray
    truth_best_iou: np.ndarray
    pred_best_iou: np.ndarray
    truth_coverage: np.ndarray
    pred_coverage: np.ndarray
    matching: Matching


def overlap_pairs(truth_labels: np.ndarray, pred_labels: np.ndarray, n_pred: int) -> np.ndarray:
    """(m, 3) rows (truth id, pred id, shared voxels) for all overlapping lesion pairs.

    Vectorised: encode each shared voxel's (truth, pred) pair as one integer and count the
    distinct codes, so the cost is one pass over the volume plus a sort of the shared voxels.
    """
    both = (truth_labels > 0) & (pred_labels > 0)
    codes = truth_labels[both].astype(np.int64) * (n_pred + 1) + pred_labels[both]
    uniq, counts = np.unique(codes, return_counts=True)
    return np.stack([uniq // (n_pred + 1), uniq % (n_pred + 1), counts], axis=1).astype(np.int64)


def _one_to_one(
    pairs: np.ndarray, iou: np.ndarray, threshold: float, n_true: int, n_pred: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hungarian assignment on the IoU of candidate pairs (IoU >= threshold).

    Returns (truth_detected (n_true,), pred_true (n_pred,), matched (k, 2) id pairs).
    """
    keep = iou >= threshold
    truth_detected = np.zeros(n_true, bool)
    pred_true = np.zeros(n_pred, bool)
    if not keep.any():
        return truth_detected, pred_true, np.zeros((0, 2), np.int64)
    ti, pj, w = pairs[keep, 0], pairs[keep, 1], iou[keep]
    rows, row_idx = np.unique(ti, return_inverse=True)
    cols, col_idx = np.unique(pj, return_inverse=True)
    # Dense only over lesions that have a candidate, so the matrix stays small.
    weights = np.zeros((rows.size, cols.size))
    weights[row_idx, col_idx] = w
    r, c = linear_sum_assignment(weights, maximize=True)
    ok = weights[r, c] >= threshold
    truth_detected[rows[r[ok]] - 1] = True
    pred_true[cols[c[ok]] - 1] = True
    return truth_detected, pred_true, np.stack([rows[r[ok]], cols[c[ok]]], axis=1)


def match_lesions(
    pred: np.ndarray,
    truth: np.ndarray,
    spacing: Spacing = (1.0, 1.0, 1.0),
    config: LesionConfig | None = None,
) -> LesionMatch:
    """Find lesions in both (X, Y, Z) masks and match them with ``config.matching``."""
    config = config or LesionConfig()
    if np.shape(pred) != np.shape(truth):
        raise ValueError(f"shapes differ: pred {np.shape(pred)} vs truth {np.shape(truth)}")
    t_les, p_les = find_lesions(truth, spacing, config), find_lesions(pred, spacing, config)
    pairs = overlap_pairs(t_les.labels, p_les.labels, p_les.n)
    ti, pj, inter = pairs[:, 0], pairs[:, 1], pairs[:, 2].astype(float)
    union = t_les.voxels[ti - 1] + p_les.voxels[pj - 1] - inter
    iou = inter / np.maximum(union, 1)

    t_cover = np.bincount(ti - 1, weights=inter, minlength=t_les.n) / np.maximum(t_les.voxels, 1)
    p_cover = np.bincount(pj - 1, weights=inter, minlength=p_les.n) / np.maximum(p_les.voxels, 1)
    t_best = np.zeros(t_les.n)
    p_best = np.zeros(p_les.n)
    np.maximum.at(t_best, ti - 1, iou)
    np.maximum.at(p_best, pj - 1, iou)

    rule = config.matching
    if rule.kind == "any":
        detected, true_pred = t_cover > 0, p_cover > 0
    elif rule.kind == "fraction":
        detected, true_pred = t_cover >= rule.threshold, p_cover >= rule.threshold
    if rule.kind == "iou":
        detected, true_pred, matched = _one_to_one(pairs, iou, rule.threshold, t_les.n, p_les.n)
    else:
        # Many-to-many: every overlapping pair whose two lesions both count as found.
        both = detected[ti - 1] & true_pred[pj - 1]
        matched = pairs[both, :2]
    return LesionMatch(
        t_les, p_les, pairs, matched, detected, true_pred, t_best, p_best, t_cover, p_cover, rule
    )


def _rate(num: int, den: int) -> float:
    return float(num / den) if den > 0 else float("nan")


def _f1(precision: float, tpr: float, n_true: int, n_pred: int) -> float:
    if n_true == 0 and n_pred == 0:
        return 1.0
    if n_true == 0 or n_pred == 0 or precision + tpr == 0:
        return 0.0
    return float(2 * precision * tpr / (precision + tpr))


def summarize_match(
    match: LesionMatch, small_box_voxels: int = SMALL_BOX_VOXELS
) -> dict[str, float]:
    """Counts and rates of a :class:`LesionMatch`, overall and split by lesion size."""
    out: dict[str, float] = {}
    t_small = match.truth.box_voxels < small_box_voxels
    p_small = match.pred.box_voxels < small_box_voxels
    for suffix, t_sel, p_sel in (
        ("", slice(None), slice(None)),
        ("_small", t_small, p_small),
        ("_large", ~t_small, ~p_small),
    ):
        n_true = int(match.truth_detected[t_sel].size)
        n_pred = int(match.pred_true[p_sel].size)
        detected = int(match.truth_detected[t_sel].sum())
        tp_pred = int(match.pred_true[p_sel].sum())
        fp_pred = n_pred - tp_pred
        tpr, precision = _rate(detected, n_true), _rate(tp_pred, n_pred)
        out.update(
            {
                f"n_true{suffix}": float(n_true),
                f"n_pred{suffix}": float(n_pred),
                f"n_detected{suffix}": float(detected),
                f"n_missed{suffix}": float(n_true - detected),
                f"n_tp_pred{suffix}": float(tp_pred),
                f"n_fp_pred{suffix}": float(fp_pred),
                f"lesion_tpr{suffix}": tpr,
                f"lesion_fpr{suffix}": _rate(fp_pred, n_pred),
                f"lesion_precision{suffix}": precision,
                f"lesion_f1{suffix}": _f1(precision, tpr, n_true, n_pred),
            }
        )
    return out


def lesion_metrics(
    pred: np.ndarray,
    truth: np.ndarray,
    spacing: Spacing = (1.0, 1.0, 1.0),
    config: LesionConfig | None = None,
    **overrides: object,
) -> dict[str, float]:
    """Lesion-wise metrics of two binary (X, Y, Z) masks.

    ``overrides`` replace fields of ``config`` (e.g. ``connectivity=6``, ``matching="iou:0.1"``,
    ``min_size_mm3=3``).

    Returns:
        dict with n_true, n_pred, n_detected, n_missed, n_tp_pred, n_fp_pred, lesion_tpr,
        lesion_fpr, lesion_precision, lesion_f1, and the same keys with ``_small`` /
        ``_large`` suffixes (truth lesions split by their own box size, predicted by theirs).
    """
    config = replace(config or LesionConfig(), **overrides)  # type: ignore[arg-type]
    return summarize_match(match_lesions(pred, truth, spacing, config), config.small_box_voxels)


def lesion_table(
    match: LesionMatch,
    spacing: Spacing = (1.0, 1.0, 1.0),
    prob: np.ndarray | None = None,
    small_box_voxels: int = SMALL_BOX_VOXELS,
) -> list[dict[str, object]]:
    """One row per lesion (truth rows first, then predicted rows).

    Columns: set ("truth"/"pred"), id, voxels, volume_mm3, centroid_x/y/z (voxels),
    box_voxels, size ("small"/"large"), matched, best_iou, coverage, and score (max
    probability inside the lesion when ``prob`` is given, else NaN).
    """
    voxel_mm3 = float(np.prod(np.asarray(spacing, dtype=float)))
    rows: list[dict[str, object]] = []
    for name, les, matched, best, cover in (
        ("truth", match.truth, match.truth_detected, match.truth_best_iou, match.truth_coverage),
        ("pred", match.pred, match.pred_true, match.pred_best_iou, match.pred_coverage),
    ):
        scores = (
            lesion_scores(les.labels, les.n, prob) if prob is not None else np.full(les.n, np.nan)
        )
        for i in range(les.n):
            rows.append(
                {
                    "set": name,
                    "id": i + 1,
                    "voxels": int(les.voxels[i]),
                    "volume_mm3": float(les.voxels[i] * voxel_mm3),
                    "centroid_x": round(float(les.centroids[i, 0]), 2),
                    "centroid_y": round(float(les.centroids[i, 1]), 2),
                    "centroid_z": round(float(les.centroids[i, 2]), 2),
                    "box_voxels": int(les.box_voxels[i]),
                    "size": "small" if les.box_voxels[i] < small_box_voxels else "large",
                    "matched": bool(matched[i]),
                    "best_iou": round(float(best[i]), 4),
                    "coverage": round(float(cover[i]), 4),
                    "score": float(scores[i]),
                }
            )
    return rows


def lesion_scores(labels: np.ndarray, n: int, prob: np.ndarray) -> np.ndarray:
    """(n,) maximum of ``prob`` inside each labelled lesion.

    Only lesion voxels are visited (``ndimage.maximum`` would argsort the whole volume).
    """
    scores = np.zeros(n, dtype=float)
    fg = labels > 0
    np.maximum.at(scores, labels[fg] - 1, np.asarray(prob)[fg])
    return scores
