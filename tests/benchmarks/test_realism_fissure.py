"""The fissure profile of the realism benchmarks (``benchmarks/realism_fissure.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

# the benchmark scripts are not a package: import the module from its folder
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import realism_fissure as rf  # noqa: E402


def test_rows_centre_on_a_wandering_trough_and_read_its_width() -> None:
    shape = (182, 218, 182)
    image = np.ones(shape, np.float32)
    brain = np.zeros(shape, bool)
    brain[60:122, 50:200, 90:140] = True
    # a trough 3 voxels wide (0.2 in the middle, 0.5 beside it) whose centre alternates
    # between x = 89 and x = 91 along y
    for y in range(218):
        c = 89 if y % 2 else 91
        image[c, y] = 0.2
        image[c - 1, y] = image[c + 1, y] = 0.5
    rows = rf.fissure_rows(image, brain)
    assert rows.shape == (len(rf.ROW_Y) * len(rf.ROW_Z), 2 * rf.HALF + 1)
    centre = rows[:, rf.HALF - 2 : rf.HALF + 3]
    assert np.allclose(centre, [1.0, 0.5, 0.2, 0.5, 1.0])  # aligned, whichever side it is on
    assert "darkest 0.20" in rf.summary(rows) and "beside it 0.50 / 0.50" in rf.summary(rows)
    # rows that leave the brain are not read
    brain[:, :, 110:] = False
    assert len(rf.fissure_rows(image, brain)) == len(rf.ROW_Y) * (110 - rf.ROW_Z.start)
