"""All metrics of one case in one call: the row that ``mslesion evaluate`` writes per case."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mslesion.metrics.aggregate import LOAD_CUTOFF_VOXELS, load_class
from mslesion.metrics.detection import lesion_average_precision, voxel_average_precision
from mslesion.metrics.lesion import LesionConfig, lesion_table, match_lesions, summarize_match
from mslesion.metrics.voxel import NDSC_REFERENCE_LOAD, voxel_metrics


@dataclass(frozen=True)
class EvalConfig:
    """What :func:`evaluate_case` computes.

    Attributes:
        lesion: lesion definition and matching rule.
        surface: compute HD95 / ASSD (the slowest metrics, ~1 s on a 1 mm brain).
        ndsc_reference_load: Shifts' r for nDSC.
        prob_threshold: probability at which lesion-level AP cuts components.
        load_cutoff_voxels: truth lesion load splitting "low" from "high" load cases.
    """

    lesion: LesionConfig = field(default_factory=LesionConfig)
    surface: bool = True
    ndsc_reference_load: float = NDSC_REFERENCE_LOAD
    prob_threshold: float = 0.5
    load_cutoff_voxels: int = LOAD_CUTOFF_VOXELS


@dataclass(frozen=True)
class CaseResult:
    """``row``: flat metric dict of the case; ``lesions``: per-lesion rows (see lesion_table)."""

    row: dict[str, object]
    lesions: list[dict[str, object]]


def evaluate_case(
    pred: np.ndarray,
    truth: np.ndarray,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    brain_mask: np.ndarray | None = None,
    prob: np.ndarray | None = None,
    config: EvalConfig | None = None,
) -> CaseResult:
    """Voxel, lesion-wise and (with ``prob``) detection metrics of one (X, Y, Z) case.

    Voxels outside ``brain_mask`` are removed from prediction, truth and probabilities
    before anything is measured. The row also holds ``lesion_load_voxels`` (truth voxels),
    ``lesion_load_mm3`` and ``load_class`` ("low"/"high").
    """
    config = config or EvalConfig()
    p, t = np.asarray(pred) > 0, np.asarray(truth) > 0
    if brain_mask is not None:
        roi = np.asarray(brain_mask) > 0
        p, t = p & roi, t & roi
        prob = None if prob is None else np.where(roi, prob, 0.0)
    row: dict[str, object] = {}
    row.update(
        voxel_metrics(
            p,
            t,
            brain_mask,
            spacing,
            surface=config.surface,
            ndsc_reference_load=config.ndsc_reference_load,
        )
    )
    match = match_lesions(p, t, spacing, config.lesion)
    row.update(summarize_match(match, config.lesion.small_box_voxels))
    if prob is not None:
        row["voxel_ap"] = voxel_average_precision(prob, t, brain_mask)
        row["lesion_ap"] = lesion_average_precision(
            prob, t, spacing, config.lesion, threshold=config.prob_threshold
        )
    load = int(np.count_nonzero(t))
    row["lesion_load_voxels"] = float(load)
    row["lesion_load_mm3"] = float(load * np.prod(np.asarray(spacing, dtype=float)))
    row["load_class"] = load_class(load, config.load_cutoff_voxels)
    lesions = lesion_table(match, spacing, prob, config.lesion.small_box_voxels)
    return CaseResult(row=row, lesions=lesions)
