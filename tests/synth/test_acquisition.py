"""The acquisition model: resolution blur before the noise, interpolation blur after it; 2D
acquisitions read as slices, with their noise on the slices and interpolated between them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage

from mslesion.synth.acquisition import (
    RIGID_BRAIN_SCALE_3D,
    SLICE_PITCH_DEG,
    SLICE_ROLL_DEG,
    acquire,
    lerp_along_normal,
    lerp_z,
    place_brain,
    place_slices,
    rician_noise,
    slice_positions,
    slice_shift,
)
from mslesion.synth.flair import Contrast

SHAPE = (40, 40, 40)


def _acquire(img: np.ndarray, snr: float | None = 10.0, seed: int = 0, **contrast) -> np.ndarray:
    contrast.setdefault("through_plane_mm", 0.0)
    contrast.setdefault("recon_mm", 0.0)
    contrast.setdefault("phase_blur_mm", 0.0)  # (a draw's blur along Y would hide in every test)
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


def test_the_phase_encoding_direction_is_resolved_more_coarsely() -> None:
    # the same step along X and along Y: with phase_blur_mm only the step along Y (A-P) softens
    along_x = np.ones(SHAPE, np.float32)
    along_x[20:] = 2.0
    along_y = np.ascontiguousarray(np.swapaxes(along_x, 0, 1))
    blur = {"snr": None, "psf_mm": 0.0, "interp_mm": 0.0, "phase_blur_mm": 0.8}
    np.testing.assert_array_equal(_acquire(along_x, **blur), along_x)
    soft = _acquire(along_y, **blur)
    assert 1.05 < soft[20, 19, 20] < 1.5 and 1.5 < soft[20, 20, 20] < 1.95
    # the in-plane blur still reaches X and adds to the phase blur along Y, in quadrature
    both = _acquire(along_y, **{**blur, "psf_mm": 0.6})
    assert soft[20, 19, 20] < both[20, 19, 20] < 1.5


def test_each_case_draws_one_resolution_for_x_and_y() -> None:
    # round 30: one number sets the in-plane blur and the extra blur along Y, within each
    # acquisition's ranges (so a seed's later draws stayed where they were)
    from mslesion.synth.flair import (
        PHASE_BLUR_2D_MM,
        PHASE_BLUR_3D_MM,
        PSF_2D_MM,
        THREE_D_PSF_MM,
    )

    draws = [Contrast.draw(np.random.default_rng(seed)) for seed in range(40)]
    for c in draws:
        psf_range, phase_range = (
            (PSF_2D_MM, PHASE_BLUR_2D_MM) if c.two_d else (THREE_D_PSF_MM, PHASE_BLUR_3D_MM)
        )
        share = (c.psf_mm - psf_range[0]) / (psf_range[1] - psf_range[0])
        assert phase_range[0] <= c.phase_blur_mm <= phase_range[1]
        assert c.phase_blur_mm == pytest.approx(
            phase_range[0] + share * (phase_range[1] - phase_range[0])
        )
    assert {c.two_d for c in draws} == {True, False}
    assert len({round(c.phase_blur_mm, 6) for c in draws}) > 30


# (at 0.5 mm a 1.5 mm blur along Y reaches 8 voxels: the box must widen along Y with it)
# (oblique slices are tilted about the volume's centre, not the box's)
@pytest.mark.parametrize(
    ("voxel_mm", "phase_blur_mm", "pitch_deg", "roll_deg"),
    [(1.0, 0.8, 0.0, 0.0), (0.5, 1.5, 0.0, 0.0), (1.0, 0.8, 11.0, -1.8)],
)
def test_working_on_the_brain_box_changes_nothing_inside_the_brain(
    monkeypatch: pytest.MonkeyPatch,
    voxel_mm: float,
    phase_blur_mm: float,
    pitch_deg: float,
    roll_deg: float,
) -> None:
    from mslesion.synth import acquisition

    rng = np.random.default_rng(1)
    img = np.zeros(SHAPE, np.float32)
    brain = np.zeros(SHAPE, bool)
    brain[12:30, 8:25, 15:33] = True
    img[brain] = 1.0 + rng.random(int(brain.sum()), dtype=np.float32)
    c = replace(
        Contrast.draw(rng),
        scale=1.0,
        psf_mm=0.6,
        phase_blur_mm=phase_blur_mm,
        interp_mm=0.7,
        through_plane_mm=1.6,
        slice_spacing_mm=3.5,
        slice_pitch_deg=pitch_deg,
        slice_roll_deg=roll_deg,
    )
    # (the slices' offset is a draw: the same seed for both)
    boxed = acquire(img.copy(), brain, voxel_mm, c, np.random.default_rng(5), None, 4.0)
    monkeypatch.setattr(acquisition, "brain_box", lambda mask, margin: (slice(None),) * 3)
    everywhere = acquire(img.copy(), brain, voxel_mm, c, np.random.default_rng(5), None, 4.0)
    assert (everywhere[brain] != img[brain]).mean() > 0.5  # (the blurs did work)
    np.testing.assert_allclose(boxed[brain], everywhere[brain], rtol=1e-5, atol=1e-6)
    assert not boxed[~brain].any()


def test_median_noise_draws_read_like_the_real_scans_noise() -> None:
    # the deep-WM noise (robust spread of what a 1 mm Gaussian removes, x NAWM) of the real 2D
    # scans reads 0.018-0.030, of the 3D ones 0.050-0.070 (synth_realism.py's noise_mad); at
    # the configured snr and each kind's median draw, the noise alone should land in the 2D
    # range (round 14's 2D gain, 1.2, read 0.015 here) and the 3D cases be ~3-5 x noisier
    from mslesion.synth import SynthConfig
    from mslesion.synth.flair import (
        NOISE_GAIN_2D,
        NOISE_GAIN_3D,
        PSF_2D_MM,
        RECON_MM,
        SLICE_PROFILE_SHARE,
        SLICE_SPACING_SHARE,
        THREE_D_INTERP_MM,
        THREE_D_PSF_MM,
        THROUGH_PLANE_MM,
        TWO_D_RECON_MM,
    )

    def mid(r: tuple[float, float]) -> float:
        return (r[0] + r[1]) / 2

    def noise_mad(**contrast: float) -> float:
        img = _acquire(np.ones((48, 48, 48), np.float32), SynthConfig().snr, **contrast)
        core = (img - ndimage.gaussian_filter(img, 1.0))[6:-6, 6:-6, 6:-6]
        return float(1.4826 * np.median(np.abs(core - np.median(core))))

    two_d = noise_mad(
        noise_gain=NOISE_GAIN_2D,
        psf_mm=mid(PSF_2D_MM),
        interp_mm=0.575,
        through_plane_mm=mid(THROUGH_PLANE_MM),
        slice_profile_mm=SLICE_PROFILE_SHARE * mid(THROUGH_PLANE_MM),
        slice_spacing_mm=SLICE_SPACING_SHARE * mid(THROUGH_PLANE_MM),
        recon_mm=TWO_D_RECON_MM,
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
    assert min(three_d) > 1.2  # (1.22-1.35 since round 24)


def test_2d_acquisitions_draw_their_noise_nearer_its_median_and_dim_their_nuclei_less() -> None:
    # round 26: the noisiest 2D cases (2x their median) looked mottled beside every real 2D
    # scan, whose noise spans 0.018-0.030 x NAWM, while the real 3D scans' wider spread is
    # kept; the real 2D scans show the deep grey nuclei brighter than the 3D ones
    from mslesion.synth.flair import NOISE_GAIN_2D, NOISE_GAIN_3D, NOISE_SPREAD_2D

    draws = [Contrast.draw(np.random.default_rng(seed)) for seed in range(200)]
    two_d = [c for c in draws if c.through_plane_mm > 0]
    three_d = [c for c in draws if c.through_plane_mm == 0]
    spread_2d = [max(r, 1 / r) for r in (c.noise_gain / NOISE_GAIN_2D for c in two_d)]
    spread_3d = [max(r, 1 / r) for r in (c.noise_gain / NOISE_GAIN_3D for c in three_d)]
    assert max(spread_2d) <= NOISE_SPREAD_2D + 1e-6
    assert max(spread_2d) > 0.9 * NOISE_SPREAD_2D  # (the whole range is drawn)
    assert max(spread_3d) > 1.8
    assert max(c.deep_grey_dim for c in two_d) <= min(c.deep_grey_dim for c in three_d)


def test_2d_slices_carry_the_noise_and_the_planes_between_them_less() -> None:
    # noise on slices 4 voxels apart, linearly interpolated between them: full on a slice,
    # sqrt(1/2) of it midway, so the per-plane noise level rises and falls with a period of 4
    flat = np.ones((40, 40, 64), np.float32)
    img = _acquire(flat, psf_mm=0.0, interp_mm=0.0, noise_gain=1.0, slice_spacing_mm=4.0)
    level = img[5:-5, 5:-5, 8:-8].std(axis=(0, 1))
    assert level.max() / level.min() > 1.25
    wave = level - level.mean()
    assert np.corrcoef(wave[:-4], wave[4:])[0, 1] > 0.5
    assert np.corrcoef(wave[:-2], wave[2:])[0, 1] < -0.3
    # neighbouring planes share their slices: strongly correlated along Z, not in-plane
    assert _neighbour_corr(img, axis=2) > 0.6 and abs(_neighbour_corr(img, axis=0)) < 0.05


def test_2d_slices_step_an_oblique_edge_where_a_gaussian_would_not() -> None:
    # an edge tilted through the slices is linear between them, kinked on them: its position
    # along Y moves with Z in steps of the slice spacing (the real 2D scans' sagittal views)
    z = np.arange(48, dtype=np.float32)
    y = np.arange(40, dtype=np.float32)[:, None]
    tilted = (y > 10 + 0.4 * z[None, :]).astype(np.float32)  # (Y, Z): the edge moves along Y
    img = np.broadcast_to(tilted, (8, 40, 48)).copy()
    sliced = _acquire(img, snr=None, psf_mm=0.0, interp_mm=0.0, slice_spacing_mm=4.0)[4]
    smooth = _acquire(img, snr=None, psf_mm=0.0, interp_mm=0.0, through_plane_mm=1.6)[4]

    def straight_share(out: np.ndarray) -> float:
        # second difference along Z: zero where the edge moves linearly with Z
        bend = np.abs(np.diff(out[:, 6:-6], n=2, axis=1)).sum(axis=0)
        return float((bend < 1e-3).mean())

    # a slice between two grid planes kinks those two: at least 2 of every 4 planes straight
    assert straight_share(sliced) >= 0.45
    assert straight_share(smooth) < 0.1


def test_2d_reconstruction_correlates_noise_within_a_slice_only() -> None:
    noise = rician_noise(
        np.ones((40, 40, 40), np.float32) * 5.0, 1.0, np.random.default_rng(2), (1.0, 1.0, 0.0)
    )
    assert _neighbour_corr(noise, axis=0) > 0.3 and _neighbour_corr(noise, axis=1) > 0.3
    assert abs(_neighbour_corr(noise, axis=2)) < 0.05
    assert noise[5:-5, 5:-5, 5:-5].std() == pytest.approx(1.0, rel=0.1)


def test_lerp_z_reads_between_planes_and_holds_the_ends() -> None:
    ramp = np.broadcast_to(np.arange(6, dtype=np.float32) * 2.0, (2, 3, 6))
    np.testing.assert_allclose(lerp_z(ramp, np.array([0.0, 1.5, 4.25]))[0, 0], [0.0, 3.0, 8.5])
    np.testing.assert_allclose(lerp_z(ramp, np.array([-2.0, 9.0]))[1, 2], [0.0, 10.0])


def test_lerp_z_reads_each_column_at_its_own_depths() -> None:
    ramp = np.broadcast_to(np.arange(6, dtype=np.float32) * 2.0, (2, 3, 6))
    depths = np.zeros((2, 3, 2), np.float32)
    depths[0, 0] = [0.5, 2.0]
    depths[1, 2] = [4.75, 7.0]  # (beyond the end: held)
    out = lerp_z(ramp, depths)
    assert out.shape == (2, 3, 2)
    np.testing.assert_allclose(out[0, 0], [1.0, 4.0])
    np.testing.assert_allclose(out[1, 2], [9.5, 10.0])
    np.testing.assert_allclose(out[0, 1], [0.0, 0.0])


def test_slice_shift_tilts_planes_about_the_given_column() -> None:
    shift = slice_shift((9, 21), (4.0, 10.0), 10.0, -2.0)
    assert shift.shape == (9, 21) and shift[4, 10] == pytest.approx(0.0, abs=1e-6)
    # rising tan(pitch) per voxel along Y, tan(roll) along X
    np.testing.assert_allclose(np.diff(shift, axis=1), np.tan(np.radians(10.0)), rtol=1e-5)
    np.testing.assert_allclose(np.diff(shift, axis=0), np.tan(np.radians(-2.0)), rtol=1e-5)
    assert not slice_shift((9, 21), (4.0, 10.0), 0.0, 0.0).any()


def _noisy_slices(flat: np.ndarray, pitch_deg: float) -> np.ndarray:
    """Noise alone (no blur) of a 2D acquisition of ``flat``, slices 4 mm apart pitched by
    ``pitch_deg``."""
    return _acquire(
        flat,
        psf_mm=0.0,
        interp_mm=0.0,
        noise_gain=1.0,
        slice_spacing_mm=4.0,
        slice_pitch_deg=pitch_deg,
    )


def test_oblique_2d_slices_carry_their_noise_on_tilted_planes() -> None:
    # the per-plane noise level peaks on the slices (see above); tilted by 10 degrees about X,
    # a column further along Y meets each slice tan(10 deg) voxels higher per voxel of Y
    flat = np.ones((48, 40, 64), np.float32)

    def peak_phase_slope(pitch_deg: float) -> float:
        img = _noisy_slices(flat, pitch_deg)
        level = img[4:-4, :, 8:-8].var(axis=0)  # (Y, Z): noise level per column and plane
        z = np.arange(level.shape[1])
        phase = np.angle((level * np.exp(-2j * np.pi * z / 4.0)).sum(axis=1))
        return float(np.polyfit(np.arange(level.shape[0]), np.unwrap(phase), 1)[0])

    # a shift of s voxels along Z moves the phase by -2 pi s / spacing
    expected = -2 * np.pi * np.tan(np.radians(10.0)) / 4.0
    assert peak_phase_slope(10.0) == pytest.approx(expected, rel=0.15)
    assert abs(peak_phase_slope(0.0)) < 0.1 * abs(expected)


def test_oblique_2d_slices_are_read_back_along_their_normal() -> None:
    # round 36: a voxel between two tilted slices takes each slice's value where their normal
    # through it meets that slice, so the noise correlates along the normal, not along Z
    flat = np.ones((40, 48, 64), np.float32)

    def lean_of_the_noise(pitch_deg: float) -> float:
        img = _noisy_slices(flat, pitch_deg)
        core = img[4:-4, 8:-8, 8:-8] - img[4:-4, 8:-8, 8:-8].mean()

        def corr(dy: int) -> float:  # with the voxel 4 planes up and dy along Y
            ahead = core[:, 4 + dy : core.shape[1] - 4 + dy, 4:]
            return float(np.corrcoef(core[:, 4:-4, :-4].ravel(), ahead.ravel())[0, 1])

        return corr(-1) - corr(1)

    # the normal of slices pitched by 14 degrees (rising along Y) leans back along Y by
    # tan(14 deg) ~ 1 voxel over 4 planes; level slices lean neither way
    assert lean_of_the_noise(14.0) > 0.1
    assert lean_of_the_noise(-14.0) < -0.1
    assert abs(lean_of_the_noise(0.0)) < 0.03


def test_reading_along_a_normal_of_no_lean_is_reading_down_each_column() -> None:
    rng = np.random.default_rng(0)
    slices = rng.standard_normal((5, 7, 4)).astype(np.float32)
    index = rng.uniform(-1.0, 4.0, (5, 7, 9)).astype(np.float32)  # (ends held)
    np.testing.assert_array_equal(lerp_along_normal(slices, index, 0.0), lerp_z(slices, index))
    # a slice's own plane reads that slice, wherever the normal leans
    on_slice = np.full((5, 7, 1), 2.0, np.float32)
    np.testing.assert_allclose(lerp_along_normal(slices, on_slice, 1.5)[..., 0], slices[..., 2])


def test_only_2d_acquisitions_place_slices_tilted_and_offset() -> None:
    draws = [Contrast.draw(np.random.default_rng(seed)) for seed in range(60)]
    tilted = [place_slices(c, np.random.default_rng((seed, 9))) for seed, c in enumerate(draws)]
    for before, after in zip(draws, tilted, strict=True):
        if not before.two_d:
            assert after == before  # a 3D acquisition has no slices
        else:
            assert SLICE_PITCH_DEG[0] <= abs(after.slice_pitch_deg) <= SLICE_PITCH_DEG[1]
            assert abs(after.slice_roll_deg) <= SLICE_ROLL_DEG
            assert 0.0 <= after.slice_offset < 1.0
            placed = {"slice_pitch_deg": 0.0, "slice_roll_deg": 0.0, "slice_offset": 0.0}
            assert replace(after, **placed) == before  # (nothing else drawn)
    pitches = [c.slice_pitch_deg for c in tilted if c.two_d]
    assert min(pitches) < 0 < max(pitches)  # (either way)


def test_only_3d_acquisitions_keep_a_smaller_brain_as_a_rigid_registration_does() -> None:
    draws = [Contrast.draw(np.random.default_rng(seed)) for seed in range(60)]
    placed = [place_brain(c, np.random.default_rng((seed, 9))) for seed, c in enumerate(draws)]
    scales = []
    for before, after in zip(draws, placed, strict=True):
        if before.two_d:
            assert after == before  # registered with scaling: the template's size
        else:
            assert RIGID_BRAIN_SCALE_3D[0] <= after.brain_scale <= RIGID_BRAIN_SCALE_3D[1]
            assert replace(after, brain_scale=1.0) == before  # (nothing else drawn)
            scales.append(after.brain_scale)
    assert len(scales) > 10 and np.ptp(scales) > 0.05  # (drawn per case)


def test_slice_positions_are_absolute_so_a_box_sees_the_volume_s_slices() -> None:
    whole = slice_positions(0, 100, 3.7, 1.2)
    boxed = slice_positions(23, 40, 3.7, 1.2) + 23
    assert whole[0] <= 0 - 3.7 + 1e-9 and whole[-1] >= 99 + 3.7 - 1e-9  # a slice beyond each end
    assert boxed[0] <= 23 - 3.7 + 1e-9 and boxed[-1] >= 62 + 3.7 - 1e-9
    np.testing.assert_allclose(np.diff(whole), 3.7)
    # every slice of the box is one of the volume's
    assert np.abs(boxed[:, None] - whole[None, :]).min(axis=1).max() < 1e-9


def test_3d_acquisitions_open_their_sulci_by_a_share_of_the_draw() -> None:
    # round 32: a 3D case's CSF steps are sharpened, which darkens more voxels; its sulci open
    # SULCI_OPEN_3D of the draw, a 2D case's the whole draw, from the same random numbers
    from mslesion.synth.flair import SULCI_OPEN, SULCI_OPEN_3D

    draws = [Contrast.draw(np.random.default_rng(seed)) for seed in range(80)]
    two_d = [c.sulci_open for c in draws if c.through_plane_mm > 0]
    three_d = [c.sulci_open for c in draws if c.through_plane_mm == 0]
    assert SULCI_OPEN[0] <= min(two_d) and max(two_d) <= SULCI_OPEN[1]
    assert SULCI_OPEN_3D * SULCI_OPEN[0] <= min(three_d)
    assert max(three_d) <= SULCI_OPEN_3D * SULCI_OPEN[1] < SULCI_OPEN[1] - 0.1
