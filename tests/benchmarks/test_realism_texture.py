"""The NAWM rows of the realism benchmark (``benchmarks/realism_texture.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

# the benchmark scripts are not a package: import the module from its folder
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import realism_texture  # noqa: E402


def _nawm(sigma_vox: float, amplitude: float, seed: int = 0) -> np.ndarray:
    """A flat NAWM (1.0) on a 48x48x48 grid plus Gaussian-smoothed noise of that scale
    (``sigma_vox``), with a std of ``amplitude``."""
    field = ndimage.gaussian_filter(
        np.random.default_rng(seed).standard_normal((48, 48, 48)), sigma_vox
    )
    return (1.0 + amplitude * field / field.std()).astype(np.float32)


# (the front / back row reads MNI y ranges this small grid does not reach: empty medians)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nawm_bands_tell_a_fine_grain_from_large_blotches() -> None:
    inside = np.zeros((48, 48, 48), bool)
    inside[4:-4, 4:-4, 4:-4] = True
    grain = realism_texture.nawm_scales(_nawm(0.8, 0.05), inside)
    blotch = realism_texture.nawm_scales(_nawm(6.0, 0.05), inside)
    flat = realism_texture.nawm_scales(np.ones((48, 48, 48), np.float32), inside)
    # a ~1-2 mm grain shows between the 1 and 2.5 mm scales, not between 6 and 15 mm...
    assert grain["wm_band_1_2"] > 3 * blotch["wm_band_1_2"]
    assert grain["wm_band_1_2"] > 3 * grain["wm_band_6_15"]
    # ...blotches ~6 mm across the other way round
    assert blotch["wm_band_6_15"] > 2 * blotch["wm_band_1_2"]
    assert flat["wm_band_1_2"] == flat["wm_band_2_6"] == flat["wm_band_6_15"] == 0.0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_grain_row_tells_a_coarse_grain_from_a_fine_one() -> None:
    inside = np.zeros((48, 48, 48), bool)
    inside[4:-4, 4:-4, 4:-4] = True
    white = realism_texture.nawm_scales(_nawm(0.0, 0.05), inside)["grain_2mm"]
    fine = realism_texture.nawm_scales(_nawm(0.5, 0.05), inside)["grain_2mm"]
    coarse = realism_texture.nawm_scales(_nawm(1.2, 0.05), inside)["grain_2mm"]
    # voxels 2 mm apart share nothing of a one-voxel grain, and more the coarser it is
    assert abs(white) < 0.1
    assert fine < coarse - 0.15
    assert coarse > 0.2


def test_edge_rows_tell_which_axis_is_blurred() -> None:
    # random 4-voxel blocks: their faces are equally steep along each axis, until one axis
    # is blurred: a coarser phase-encoding direction (Y) reads edge_y_x < 1, thick slices
    # edge_z_x < 1
    blocks = np.random.default_rng(0).random((12, 12, 12)) > 0.5
    cube = np.kron(blocks, np.ones((4, 4, 4))).astype(np.float32)
    brain = np.ones(cube.shape, bool)
    sharp = realism_texture.sharpness(cube, brain, brain)
    soft_y = realism_texture.sharpness(ndimage.gaussian_filter1d(cube, 1.0, axis=1), brain, brain)
    soft_z = realism_texture.sharpness(ndimage.gaussian_filter1d(cube, 1.0, axis=2), brain, brain)
    assert sharp["edge_y_x"] == pytest.approx(1.0) and sharp["edge_z_x"] == pytest.approx(1.0)
    assert soft_y["edge_y_x"] < 0.8 and soft_y["edge_z_x"] == pytest.approx(1.0, abs=0.05)
    assert soft_z["edge_z_x"] < 0.8 and soft_z["edge_y_x"] == pytest.approx(1.0, abs=0.05)


def test_the_csf_edge_row_reads_the_step_not_how_much_csf() -> None:
    # a slab of dark CSF in bright tissue: a blurred step reads a lower edge_csf_p90; a second
    # slab as steep doubles the CSF-edge share but leaves edge_csf_p90 where it was
    tissue = np.ones((40, 40, 40), np.float32)
    one, two = tissue.copy(), tissue.copy()
    one[18:21] = 0.1
    two[10:13] = 0.1
    two[26:29] = 0.1
    brain = np.ones(tissue.shape, bool)
    steep = realism_texture.sharpness(one, brain, brain)
    soft = realism_texture.sharpness(ndimage.gaussian_filter1d(one, 1.0, axis=0), brain, brain)
    twice = realism_texture.sharpness(two, brain, brain)
    assert soft["edge_csf_p90"] < 0.8 * steep["edge_csf_p90"]
    assert twice["csf_edge_share"] > 1.5 * steep["csf_edge_share"]
    assert twice["edge_csf_p90"] == pytest.approx(steep["edge_csf_p90"])
