"""The slice-plane reading of the realism benchmarks (``benchmarks/realism_slices.py``)."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mslesion.synth.acquisition import acquire
from mslesion.synth.flair import Contrast

# the benchmark scripts are not a package: import the module from its folder
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import realism_slices as rs  # noqa: E402

SHAPE = (56, 96, 64)


def _flat_scan(**contrast) -> tuple[np.ndarray, np.ndarray]:
    """A uniform brain (an ellipsoid) acquired as ``contrast`` says, noise at SNR 20."""
    grid = np.indices(SHAPE, dtype=np.float32)
    centre = (np.array(SHAPE, np.float32) - 1) / 2
    radii = np.array(SHAPE, np.float32) / 2 - 3
    brain = (((grid - centre[:, None, None, None]) / radii[:, None, None, None]) ** 2).sum(0) < 1
    c = replace(
        Contrast.draw(np.random.default_rng(0)),
        scale=1.0,
        psf_mm=0.0,
        phase_blur_mm=0.0,
        interp_mm=0.5,
        noise_gain=1.0,
        recon_mm=0.7,
        **contrast,
    )
    image = acquire(brain.astype(np.float32), brain, 1.0, c, np.random.default_rng(3), 20.0, None)
    return image, brain


@pytest.mark.parametrize("pitch_deg", [0.0, 9.0, -6.0])
def test_reads_the_spacing_and_tilt_of_2d_slices(pitch_deg: float) -> None:
    image, brain = _flat_scan(slice_spacing_mm=3.6, slice_profile_mm=1.0, slice_pitch_deg=pitch_deg)
    planes = rs.slice_planes(image, brain)
    assert planes.period_mm == pytest.approx(3.6, abs=0.15)
    # (one frequency bin along Y is ~3 degrees of tilt at this size)
    assert planes.pitch_deg == pytest.approx(pitch_deg, abs=3.5)
    assert abs(planes.roll_deg) < 3.5
    assert planes.strength > 30
    assert f"pitch {planes.pitch_deg:+5.1f}" in rs.describe(planes)


def test_a_3d_acquisition_shows_no_clear_slices() -> None:
    image, brain = _flat_scan(slice_spacing_mm=0.0)
    sliced, _ = _flat_scan(slice_spacing_mm=3.6, slice_profile_mm=1.0)
    assert rs.slice_planes(image, brain).strength < rs.slice_planes(sliced, brain).strength / 3
