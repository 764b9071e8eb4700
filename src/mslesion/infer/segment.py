"""One scan -> everything ``mslesion segment`` writes for it, computed in memory first.

Nothing is written here: :class:`CaseResult` holds the mask, probabilities, lesion table and
overview PNG so that the caller can write a case's files only once all of them exist.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mslesion.infer.postprocess import PostprocessConfig, binarize
from mslesion.infer.predictor import Prediction, Predictor
from mslesion.infer.uncertainty import lesion_confidence
from mslesion.io.nifti import NiftiVolume
from mslesion.report.lesions import LesionRow, lesion_table, mni_region_lookup, summarize
from mslesion.report.overview import render_overview


@dataclass(frozen=True)
class CaseResult:
    """``mask`` uint8, ``probability``/``uncertainty`` float32; all (X, Y, Z) on the input grid."""

    mask: np.ndarray
    probability: np.ndarray
    uncertainty: np.ndarray | None
    lesions: list[LesionRow]
    overview_png: bytes
    prediction: Prediction

    @property
    def summary(self) -> dict[str, float | int]:
        return summarize(self.lesions)


def segment_volume(
    predictor: Predictor,
    volume: NiftiVolume,
    brain_mask: NiftiVolume | None = None,
    post: PostprocessConfig = PostprocessConfig(),
    title: str = "",
) -> CaseResult:
    """Predict, threshold, report and render one scan (see :mod:`mslesion.infer.predictor`)."""
    pred = predictor.predict(volume, brain_mask)
    mask = binarize(pred.probability, volume.voxel_volume_mm3, post)
    std = pred.uncertainty
    rows = lesion_table(
        mask,
        pred.probability,
        volume.affine,
        region_lookup=mni_region_lookup(volume.affine, pred.model_to_native),
        confidence=None if std is None else (lambda labels, n: lesion_confidence(labels, std, n)),
    )
    png = render_overview(volume.data, mask, volume.affine, title=title)
    return CaseResult(mask, pred.probability, std, rows, png, pred)
