"""The acquisition model: resolution blur before the noise, interpolation blur after it (more
of it through the slices of 2D acquisitions)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage

from mslesion.synth.flair import Contrast, acquire

SHAPE = (40, 40, 40)


def _acquire(img: np.ndarray, snr: float | None = 10.0, seed: int = 0, **contrast) -> np.ndarray:
    contrast.setdefault("through_plane_mm", 0.0)
    contrast.setdefault("recon_mm", 0.0)
    c = replace(Contrast.draw(np.random.default_rng(0)), scale=1.0, **contrast)
    brain = np.ones(img.shape, bool)
    return acquire(img.copy(), brain, 1.0, c, np.random.default_rng(seed), snr, None)


def _neighbour_corr(img: np.ndarray, axis: int = 0) -> float:
    core = img[5:-5, 5:-5, 5:-5] - img[5:-5, 5:-5, 5:-5].mean()
    ahead, behind = np.moveaxis(core, axis, 0)[1:], np.moveaxis(core, axis, 0)[:-1]
    return float(np.corrcoef(ahead.ravel(), behind.ravel())[0, 1])


def test_noise_is_white_without_interpolation_and_grainy_with_it() -> None:
    flat = np.ones(SHAPE, np.float32)
    white = _acquire(flat, psf_mm=1.0, interp_mm=0.0, noise_gain=1.0)
    grainy = _acquire(flat, psf_mm=0.0, interp_mm=0.6, noise_gain=1.0)
    # the resolution blur comes before the noise, so it leaves the noise white
    assert abs(_neighbour_corr(white)) < 0.05
    assert white[5:-5, 5:-5, 5:-5].std() == pytest.approx(0.1, rel=0.1)  # sigma = 1 / snr
    # the interpolation smooths noise: correlated neighbours, lower sigma
    assert _neighbour_corr(grainy) > 0.3
    assert grainy[5:-5, 5:-5, 5:-5].std() < 0.7 * white[5:-5, 5:-5, 5:-5].std()


def test_reconstruction_correlates_the_noise_without_lowering_it() -> None:
    # the complex noise correlated before the magnitude (3D acquisitions' k-space
    # reconstruction): grainy like the interpolation's, but at the full sigma, and the noise
    # floor where there is no signal stays that of the full sigma (Rician mean 1.25 sigma)
    flat = np.ones(SHAPE, np.float32)
    white = _acquire(flat, psf_mm=0.0, interp_mm=0.0, noise_gain=1.0)
    recon = _acquire(flat, psf_mm=0.0, interp_mm=0.0, noise_gain=1.0, recon_mm=0.7)
    assert abs(_neighbour_corr(white)) < 0.05 and _neighbour_corr(recon) > 0.3
    assert recon[5:-5, 5:-5, 5:-5].std() == pytest.approx(0.1, rel=0.1)
    empty = np.zeros(SHAPE, np.float32)
    floor = _acquire(empty, psf_mm=0.0, interp_mm=0.0, noise_gain=1.0, recon_mm=0.7)
    blurred = _acquire(empty, psf_mm=0.0, interp_mm=0.7, noise_gain=1.0)
    assert floor[5:-5, 5:-5, 5:-5].mean() == pytest.approx(0.1 * np.sqrt(np.pi / 2), rel=0.1)
    assert floor[5:-5, 5:-5, 5:-5].std() > 2 * blurred[5:-5, 5:-5, 5:-5].std()


def test_thick_slices_smooth_signal_and_noise_along_z_only() -> None:
    flat = np.ones(SHAPE, np.float32)
    iso = _acquire(flat, psf_mm=0.0, interp_mm=0.6, noise_gain=1.0)
    thick = _acquire(flat, psf_mm=0.0, interp_mm=0.6, noise_gain=1.0, through_plane_mm=1.4)
    # real 2D acquisitions resampled to 1 mm: ~0.85 along Z, ~0.5 in-plane
    assert _neighbour_corr(thick, axis=2) > 0.8
    assert _neighbour_corr(thick, axis=0) == pytest.approx(_neighbour_corr(iso, axis=0), abs=0.05)
    assert _neighbour_corr(iso, axis=2) == pytest.approx(_neighbour_corr(iso, axis=0), abs=0.05)
    step = np.ones(SHAPE, np.float32)
    step[:, :, 20:] = 2.0  # an edge across Z is softened, one across X is not
    soft = _acquire(step, snr=None, psf_mm=0.0, interp_mm=0.0, through_plane_mm=1.4)
    assert 1.1 < soft[20, 20, 19] < 1.5
    np.testing.assert_allclose(soft[:, 20, 10], 1.0, atol=1e-5)


def test_noise_gain_scales_the_noise_of_this_scan() -> None:
    flat = np.ones(SHAPE, np.float32)
    calm = _acquire(flat, psf_mm=0.0, interp_mm=0.0, noise_gain=0.7)
    noisy = _acquire(flat, psf_mm=0.0, interp_mm=0.0, noise_gain=1.4)
    assert noisy.std() / calm.std() == pytest.approx(2.0, rel=0.1)


def test_resolution_blur_softens_edges_but_not_without_it() -> None:
    step = np.ones(SHAPE, np.float32)
    step[20:] = 2.0
    sharp = _acquire(step, snr=None, psf_mm=0.0, interp_mm=0.0)
    soft = _acquire(step, snr=None, psf_mm=1.0, interp_mm=0.0)
    np.testing.assert_array_equal(sharp, step)
    assert 1.05 < soft[19, 20, 20] < 1.5 and 1.5 < soft[20, 20, 20] < 1.95


def test_working_on_the_brain_box_changes_nothing_inside_the_brain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mslesion.synth import flair

    rng = np.random.default_rng(1)
    img = np.zeros(SHAPE, np.float32)
    brain = np.zeros(SHAPE, bool)
    brain[12:30, 8:25, 15:33] = True
    img[brain] = 1.0 + rng.random(int(brain.sum()), dtype=np.float32)
    c = replace(Contrast.draw(rng), scale=1.0, psf_mm=0.6, interp_mm=0.7, through_plane_mm=1.6)
    boxed = acquire(img.copy(), brain, 1.0, c, rng, None, 4.0)
    monkeypatch.setattr(flair, "brain_box", lambda mask, margin: (slice(None),) * 3)
    everywhere = acquire(img.copy(), brain, 1.0, c, rng, None, 4.0)
    assert (everywhere[brain] != img[brain]).mean() > 0.5  # (the blurs did work)
    np.testing.assert_allclose(boxed[brain], everywhere[brain], rtol=1e-5, atol=1e-6)
    assert not boxed[~brain].any()


def test_median_noise_draws_read_like_the_real_scans_noise() -> None:
    # the deep-WM noise (robust spread of what a 1 mm Gaussian removes, x NAWM) of the real 2D
    # scans reads 0.017-0.030, of the 3D ones 0.060-0.086 (synth_realism.py's noise_mad); at
    # the configured snr and each kind's median draw, the noise alone should land in the 2D
    # range (round 14's 2D gain, 1.2, read 0.015 here) and the 3D cases be ~3-5 x noisier
    from mslesion.synth import SynthConfig
    from mslesion.synth.flair import (
        NOISE_GAIN_2D,
        NOISE_GAIN_3D,
        RECON_MM,
        THREE_D_INTERP_MM,
        THREE_D_PSF_MM,
        THROUGH_PLANE_MM,
    )

    def mid(r: tuple[float, float]) -> float:
        return (r[0] + r[1]) / 2

    def noise_mad(**contrast: float) -> float:
        img = _acquire(np.ones((48, 48, 48), np.float32), SynthConfig().snr, **contrast)
        core = (img - ndimage.gaussian_filter(img, 1.0))[6:-6, 6:-6, 6:-6]
        return float(1.4826 * np.median(np.abs(core - np.median(core))))

    two_d = noise_mad(
        noise_gain=NOISE_GAIN_2D,
        psf_mm=0.6,
        interp_mm=0.575,
        through_plane_mm=mid(THROUGH_PLANE_MM),
    )
    three_d = noise_mad(
        noise_gain=NOISE_GAIN_3D,
        psf_mm=mid(THREE_D_PSF_MM),
        interp_mm=mid(THREE_D_INTERP_MM),
        recon_mm=mid(RECON_MM),
    )
    assert 0.017 < two_d < 0.030
    assert 3.0 < three_d / two_d < 5.5


def test_2d_acquisitions_draw_more_cortex_contrast_than_3d_ones() -> None:
    # real 2D multislice FLAIR shows more GM / WM contrast than 3D FLAIR (round 18); the
    # per-case draw must follow the acquisition it drew, and keep FLAIR's WM < GM order
    draws = [Contrast.draw(np.random.default_rng(seed)) for seed in range(60)]
    two_d = [c.gm for c in draws if c.through_plane_mm > 0]
    three_d = [c.gm for c in draws if c.through_plane_mm == 0]
    assert len(two_d) > 10 and len(three_d) > 10
    assert min(two_d) > max(three_d)
    assert min(three_d) > 1.2
