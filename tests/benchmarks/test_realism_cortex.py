"""The cortex rows of the realism benchmark (``benchmarks/realism_cortex.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from mslesion.synth.anatomy import MNI_AFFINE_1MM, MNI_SHAPE_1MM

# the benchmark scripts are not a package: import the module from its folder
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import realism_cortex  # noqa: E402


def _index(x_mm: float, y_mm: float, z_mm: float) -> tuple[int, ...]:
    ijk = np.linalg.solve(MNI_AFFINE_1MM, [x_mm, y_mm, z_mm, 1.0])[:3]
    return tuple(int(v) for v in np.round(ijk))


def test_medial_box_holds_the_medial_cortex_above_the_callosum_of_both_sides() -> None:
    box = realism_cortex.medial_box(MNI_SHAPE_1MM, MNI_AFFINE_1MM)
    assert box.shape == MNI_SHAPE_1MM and box.dtype == bool
    for inside in ((-8, 0, 40), (8, 30, 25), (3, -35, 50)):
        assert box[_index(*inside)], inside
    # not the falx itself, the lateral cortex, the callosum's level or the occipital lobe
    for outside in ((0, 0, 40), (20, 0, 40), (8, 0, 10), (8, -70, 30)):
        assert not box[_index(*outside)], outside


def test_medial_dark_counts_the_dark_share_away_from_the_ventricles() -> None:
    shape = (20, 20, 20)
    img = np.ones(shape, np.float32)
    medial = np.zeros(shape, bool)
    medial[5:15, 5:15, 5:15] = True  # 1,000 voxels
    img[5:15, 5:7, 5:15] = 0.2  # 200 of them CSF-dark
    ventricles = np.zeros(shape, bool)
    ventricles[5:15, 14, 5:15] = True  # 3 voxels' margin: rows 11-14 of the box left out
    out = realism_cortex.medial_dark(img, medial, np.zeros(shape, bool))
    assert out["medial_dark"] == 0.2
    near = realism_cortex.medial_dark(img, medial, ventricles)
    assert near["medial_dark"] == 200 / 600
    # outside the brain (0) nothing counts, and an empty region is not a number
    img[medial] = 0.0
    assert np.isnan(realism_cortex.medial_dark(img, medial, ventricles)["medial_dark"])
