"""Intensity normalisation (min-max, z-score after percentile clipping) and N4."""

from __future__ import annotations

import numpy as np
import pytest

from mslesion.preprocess.intensity import (
    default_brain_mask,
    minmax_normalize,
    n4_bias_correct,
    normalize,
    zscore_normalize,
)


def _brain(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    volume = np.zeros((20, 20, 20), np.float32)
    brain = np.zeros(volume.shape, bool)
    brain[4:16, 4:16, 4:16] = True
    volume[brain] = rng.normal(100.0, 10.0, brain.sum())
    volume[5, 5, 5] = 5000.0  # a hot outlier the percentile clip must tame
    return volume, brain


def test_minmax_clips_scales_and_zeroes_background(rng: np.random.Generator) -> None:
    volume, brain = _brain(rng)
    out, record = minmax_normalize(volume, brain, (1.0, 99.0))
    assert out.dtype == np.float32 and out.shape == volume.shape
    assert out.min() == 0.0 and out.max() == 1.0
    assert not out[~brain].any()
    low, high = np.percentile(volume[brain], [1.0, 99.0])
    assert record.clip_low == pytest.approx(low) and record.clip_high == pytest.approx(high)
    # Without clipping the outlier would squash the brain into [0, 0.03].
    assert np.median(out[brain]) == pytest.approx(0.5, abs=0.1)
    inside = brain & (volume > low) & (volume < high)
    np.testing.assert_allclose(record.invert(out)[inside], volume[inside], rtol=1e-5)


def test_zscore_has_zero_mean_unit_std_in_brain(rng: np.random.Generator) -> None:
    volume, brain = _brain(rng)
    out, record = zscore_normalize(volume, brain)
    assert abs(out[brain].mean()) < 1e-4 and out[brain].std() == pytest.approx(1.0, rel=1e-3)
    assert not out[~brain].any()
    assert record.method == "zscore" and record.offset == pytest.approx(100.0, abs=2.0)
    assert out.max() < 4.0, "the outlier is clipped before the statistics"


def test_default_mask_and_dispatch(rng: np.random.Generator) -> None:
    volume, brain = _brain(rng)
    np.testing.assert_array_equal(default_brain_mask(volume), volume != 0)
    assert default_brain_mask(np.ones((2, 2, 2))).all()
    a, _ = normalize(volume, "minmax")
    b, _ = minmax_normalize(volume, volume != 0)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="unknown intensity normalisation"):
        normalize(volume, "histogram")
    with pytest.raises(ValueError, match="empty"):
        minmax_normalize(volume, np.zeros(volume.shape, bool))


def test_constant_brain_does_not_divide_by_zero() -> None:
    volume = np.zeros((6, 6, 6), np.float32)
    volume[1:5, 1:5, 1:5] = 3.0
    for method in ("minmax", "zscore"):
        out, _ = normalize(volume, method)
        assert np.isfinite(out).all()


def test_n4_reduces_a_smooth_bias_field(rng: np.random.Generator) -> None:
    shape = (40, 40, 40)
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing="ij"), -1)
    brain = (grid**2).sum(-1) <= 0.8
    tissue = np.where(brain, 100.0 + rng.normal(0, 2.0, shape), 0.0).astype(np.float32)
    bias = np.exp(0.4 * grid[..., 0] + 0.2 * grid[..., 2]).astype(np.float32)
    biased = tissue * bias

    def cv(x: np.ndarray) -> float:
        return float(x[brain].std() / x[brain].mean())

    corrected = n4_bias_correct(
        biased, (2.0, 2.0, 2.0), brain, shrink_factor=2, iterations=(20, 20)
    )
    assert corrected.shape == shape and corrected.dtype == np.float32
    assert cv(corrected) < 0.5 * cv(biased)
    np.testing.assert_array_equal(corrected[~brain], biased[~brain])
