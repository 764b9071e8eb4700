"""Scanner-like degradations: each does what its name says, deterministically."""

from __future__ import annotations

import numpy as np
import pytest

from mslesion.data.degrade import DEFAULT_SET, Degradation, degrade, parse_degradation


def _head(shape=(40, 44, 36), seed=0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1)
    centre = (np.array(shape) - 1) / 2
    brain = (((grid - centre) / (np.array(shape) * 0.45)) ** 2).sum(-1) <= 1
    image = np.where(brain, 100.0 + rng.normal(0, 5, shape), 0.0).astype(np.float32)
    return image, brain


def test_parse_takes_defaults_values_and_rejects_nonsense():
    assert parse_degradation("clean") == Degradation("clean", None)
    assert parse_degradation("thick") == Degradation("thick", 5.0)
    assert parse_degradation("noise:12.5").value == 12.5
    assert parse_degradation("thick:3").label == "thick:3"
    for bad in ("blur", "thick:x", "noise:0", "clean:1", "scale:-2"):
        with pytest.raises(ValueError):
            parse_degradation(bad)
    assert all(parse_degradation(d) for d in DEFAULT_SET)


def test_clean_is_an_identical_copy():
    image, brain = _head()
    out = degrade(image, brain, parse_degradation("clean"))
    assert np.array_equal(out, image) and out is not image


def test_thick_slices_average_slabs_along_z_only():
    image, brain = _head()
    # one bright axial slice: a 4 mm acquisition spreads it over its slab and dims it
    image[:, :, 17][brain[:, :, 17]] = 1000.0
    out = degrade(image, brain, parse_degradation("thick:4"))
    inside = brain[:, :, 17]
    assert out[:, :, 17][inside].mean() < 0.6 * image[:, :, 17][inside].mean()
    assert out[:, :, 15][brain[:, :, 15]].mean() > 1.5 * image[:, :, 15][brain[:, :, 15]].mean()
    # in-plane detail untouched: a volume constant along Z does not change at all
    flat = np.repeat(image[:, :, 17:18], image.shape[2], axis=2)
    assert np.allclose(degrade(flat, np.ones_like(brain), parse_degradation("thick:4")), flat)
    # 1 mm "slices" on a 1 mm grid are the original
    assert np.allclose(degrade(image, brain, parse_degradation("thick:1")), image)


def test_thick_slices_use_the_z_spacing():
    image, brain = _head()
    image[:, :, 17][brain[:, :, 17]] = 1000.0
    # at 2 mm voxels, 2 mm slices are the original slices
    same = degrade(image, brain, parse_degradation("thick:2"), spacing=(1.0, 1.0, 2.0))
    assert np.allclose(same, image)


def test_bias_is_smooth_seeded_and_has_the_asked_strength():
    image, brain = _head()
    deg = parse_degradation("bias:0.2")
    a = degrade(image, brain, deg, seed=1)
    assert np.array_equal(a, degrade(image, brain, deg, seed=1))
    assert not np.array_equal(a, degrade(image, brain, deg, seed=2))
    log_ratio = np.log(a[brain] / image[brain])
    assert log_ratio.std() == pytest.approx(0.2, rel=0.05)
    # smooth: neighbouring voxels share nearly the same factor
    ratio = np.where(brain, a / np.where(brain, image, 1), 1)
    assert np.abs(np.diff(ratio, axis=0))[brain[1:] & brain[:-1]].max() < 0.1  # white noise: ~0.3


def test_noise_has_the_asked_snr_and_keeps_background_zero():
    image, brain = _head()
    smooth = np.where(brain, 100.0, 0.0).astype(np.float32)
    out = degrade(smooth, brain, parse_degradation("noise:10"), seed=3)
    # Rician at SNR 10: std ~ 100 / 10 around a mean slightly above 100
    assert out[brain].std() == pytest.approx(10.0, rel=0.1)
    assert 100.0 <= out[brain].mean() < 102.0
    assert not out[~brain].any()


def test_scale_multiplies_and_gamma_compresses_contrast():
    image, brain = _head()
    assert np.allclose(degrade(image, brain, parse_degradation("scale:2.5")), image * 2.5)
    image[brain & (np.indices(image.shape)[0] < 20)] *= 1.5  # a bright half
    bright = brain & (np.indices(image.shape)[0] < 20)
    dark = brain & ~bright
    out = degrade(image, brain, parse_degradation("gamma:0.5"))
    before = image[bright].mean() / image[dark].mean()
    after = out[bright].mean() / out[dark].mean()
    assert after == pytest.approx(before**0.5, rel=0.02)
    assert not out[~brain].any()
