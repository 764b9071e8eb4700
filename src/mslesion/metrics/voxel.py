"""Voxel-wise metrics of a binary prediction against a binary truth, inside an optional ROI.

Conventions for degenerate cases (documented in ``docs/evaluation.md`` and tested):

- Ratios whose denominator is 0 are ``NaN`` (undefined), except the overlap scores Dice,
  IoU, F1 and nDSC, which are 1.0 when truth and prediction are both empty and 0.0 when
  exactly one is empty (the MICCAI / Shifts convention).
- HD95 and ASSD are 0.0 when both masks are empty and ``NaN`` when exactly one is empty
  (a distance to nothing is undefined; aggregation skips NaN and reports how many rows it used).
- ``rel_volume_diff`` (|Vp - Vt| / Vt) is 0.0 when both are empty and NaN when Vt = 0 < Vp.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

Spacing = Sequence[float]

#: Shifts MS (Malinin et al., 2022) reference lesion load r: the fraction of lesion voxels
#: the normalised Dice is rescaled to. 0.001 is the value used by the Shifts benchmark.
NDSC_REFERENCE_LOAD = 0.001


def _as_bool(mask: np.ndarray) -> np.ndarray:
    arr = np.asarray(mask)
    return arr if arr.dtype == bool else arr > 0


def _check_shapes(*arrays: np.ndarray | None) -> None:
    shapes = {a.shape for a in arrays if a is not None}
    if len(shapes) > 1:
        raise ValueError(f"arrays must share one shape, got {sorted(shapes)}")


def confusion_counts(
    pred: np.ndarray, truth: np.ndarray, roi: np.ndarray | None = None
) -> tuple[int, int, int, int]:
    """(TP, FP, TN, FN) voxel counts of two (X, Y, Z) masks, counted inside ``roi`` if given."""
    p, t = _as_bool(pred), _as_bool(truth)
    _check_shapes(p, t, None if roi is None else np.asarray(roi))
    # One bincount over a 2-bit code (pred*2 + truth) is a single pass over the volume.
    code = p.view(np.uint8) * np.uint8(2) + t.view(np.uint8)
    if roi is not None:
        code = code[_as_bool(roi)]
    tn, fn, fp, tp = np.bincount(code.ravel(), minlength=4)[:4]
    return int(tp), int(fp), int(tn), int(fn)


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


def _overlap(num: float, den: float, both_empty: bool) -> float:
    if both_empty:
        return 1.0
    return float(num / den) if den > 0 else 0.0


def normalized_dice(
    tp: int, fp: int, fn: int, n_voxels: int, reference_load: float = NDSC_REFERENCE_LOAD
) -> float:
    """nDSC of the Shifts MS benchmark: Dice with FP re-weighted to a reference lesion load.

    With truth load h = (TP + FN) / n_voxels, false positives are scaled by
    k = (1 - r) h / (r (1 - h)) so that a case's score does not depend on how much lesion it
    has: nDSC = 2 TP / (2 TP + k FP + FN). Both empty -> 1.0; empty truth only -> 0.0.
    """
    n_true = tp + fn
    if n_true == 0:
        return 1.0 if fp == 0 else 0.0
    h = n_true / n_voxels
    if h >= 1.0:
        return _overlap(2 * tp, 2 * tp + fn, False)
    k = (1.0 - reference_load) * h / (reference_load * (1.0 - h))
    return float(2 * tp / (2 * tp + k * fp + fn))


def _crop_to_union(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Crop both masks to the union's bounding box plus one voxel.

    Exact for surface distances: every surface voxel lies inside the box, and the one-voxel
    margin (or the volume border, where erosion sees zeros too) keeps erosion unchanged.
    """
    box = ndimage.find_objects((a | b).view(np.uint8))[0]
    sl = tuple(
        slice(max(s.start - 1, 0), min(s.stop + 1, n)) for s, n in zip(box, a.shape, strict=True)
    )
    return a[sl], b[sl]


def _surface(mask: np.ndarray) -> np.ndarray:
    # Border voxels = mask minus its 6-connected erosion (the same definition as MONAI's
    # get_mask_edges on CPU, so the two agree exactly).
    return mask & ~ndimage.binary_erosion(mask)


def surface_distances(
    pred: np.ndarray, truth: np.ndarray, spacing: Spacing = (1.0, 1.0, 1.0)
) -> tuple[np.ndarray, np.ndarray]:
    """Directed surface distances in mm: (pred surface -> truth surface, truth -> pred).

    Both masks must be non-empty. Each output is 1D, one entry per border voxel. Nearest
    border voxels are found with a k-d tree on the border voxels' mm coordinates: exact
    Euclidean distances like a distance transform, but the cost grows with the number of
    border voxels, not with the volume the lesions are spread over.
    """
    p, t = _crop_to_union(_as_bool(pred), _as_bool(truth))
    scale = np.asarray(spacing, dtype=float)
    pts_p = np.argwhere(_surface(p)) * scale
    pts_t = np.argwhere(_surface(t)) * scale
    d_pt = cKDTree(pts_t).query(pts_p, k=1)[0]
    d_tp = cKDTree(pts_p).query(pts_t, k=1)[0]
    return np.asarray(d_pt, dtype=float), np.asarray(d_tp, dtype=float)


def surface_metrics(
    pred: np.ndarray,
    truth: np.ndarray,
    spacing: Spacing = (1.0, 1.0, 1.0),
    percentile: float = 95.0,
) -> dict[str, float]:
    """``hd95`` (max of the two directed 95th percentiles, mm) and ``assd`` (mean of all, mm)."""
    p, t = _as_bool(pred), _as_bool(truth)
    if not p.any() and not t.any():
        return {"hd95": 0.0, "assd": 0.0}
    if not p.any() or not t.any():
        return {"hd95": float("nan"), "assd": float("nan")}
    d_pt, d_tp = surface_distances(p, t, spacing)
    hd = max(float(np.percentile(d_pt, percentile)), float(np.percentile(d_tp, percentile)))
    assd = float(np.concatenate([d_pt, d_tp]).mean())
    return {"hd95": hd, "assd": assd}


def voxel_metrics(
    pred: np.ndarray,
    truth: np.ndarray,
    brain_mask: np.ndarray | None = None,
    spacing: Spacing = (1.0, 1.0, 1.0),
    *,
    surface: bool = True,
    ndsc_reference_load: float = NDSC_REFERENCE_LOAD,
) -> dict[str, float]:
    """All voxel-wise metrics of ``pred`` against ``truth``.

    Args:
        pred, truth: binary masks (X, Y, Z); any value > 0 is foreground.
        brain_mask: optional (X, Y, Z) ROI; voxels outside it are ignored everywhere
            (counts, volumes, surfaces).
        spacing: voxel size in mm along X, Y, Z (volumes in mm^3, distances in mm).
        surface: compute ``hd95`` and ``assd`` (the only costly part); NaN when False.
        ndsc_reference_load: Shifts' r for ``ndsc`` (default 0.001).

    Returns:
        dict with tp, fp, tn, fn (voxels), accuracy, sensitivity, specificity, precision,
        f1, dice, iou, ndsc, volume_pred_mm3, volume_truth_mm3, volume_diff_mm3 (Vp - Vt),
        abs_volume_diff_mm3, rel_volume_diff (|Vp - Vt| / Vt), hd95 and assd (mm).
    """
    p, t = _as_bool(pred), _as_bool(truth)
    roi = None if brain_mask is None else _as_bool(brain_mask)
    _check_shapes(p, t, roi)
    if roi is not None:
        p, t = p & roi, t & roi
    tp, fp, tn, fn = confusion_counts(p, t, roi)
    both_empty = tp + fp + fn == 0
    voxel_mm3 = float(np.prod(np.asarray(spacing, dtype=float)))
    v_pred, v_true = (tp + fp) * voxel_mm3, (tp + fn) * voxel_mm3
    dice = _overlap(2 * tp, 2 * tp + fp + fn, both_empty)
    out: dict[str, float] = {
        "tp": float(tp),
        "fp": float(fp),
        "tn": float(tn),
        "fn": float(fn),
        "accuracy": _ratio(tp + tn, tp + tn + fp + fn),
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "precision": _ratio(tp, tp + fp),
        "f1": dice,  # F1 on voxels is Dice; both names are reported as the papers use both
        "dice": dice,
        "iou": _overlap(tp, tp + fp + fn, both_empty),
        "ndsc": normalized_dice(tp, fp, fn, tp + fp + tn + fn, ndsc_reference_load),
        "volume_pred_mm3": v_pred,
        "volume_truth_mm3": v_true,
        "volume_diff_mm3": v_pred - v_true,
        "abs_volume_diff_mm3": abs(v_pred - v_true),
        "rel_volume_diff": 0.0 if both_empty else _ratio(abs(v_pred - v_true), v_true),
    }
    if surface:
        out.update(surface_metrics(p, t, spacing))
    else:
        out.update({"hd95": float("nan"), "assd": float("nan")})
    return out
