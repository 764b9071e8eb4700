"""Normal bright anatomy (hard negatives), the basal cisterns, the NAWM's variation (its
scales, dirty-appearing WM, the frontal WM's darkening) and the halo and fringe around
lesions."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import ndimage

from mslesion.synth import SynthCase
from mslesion.synth.anatomy import frontal_wm_ramp, mni_template
from mslesion.synth.flair import (
    NAWM_RANGE,
    TISSUE_MAX,
    Contrast,
    add_lesions,
    lesion_halo,
    nawm_modulation,
    texture_and_bias,
    tissue_image,
)
from mslesion.synth.lesions import MIN_LESION_CONTRAST, RIM_MIN_ALPHA
from mslesion.synth.normal import CISTERN_TISSUE, axial_holes, fill_cisterns

# MNI mm points (x, y, z) inside each normal bright structure, and in plain deep WM
STRUCTURES = {
    "pontine tegmentum": (0, -34, -27),
    "midbrain tegmentum": (0, -26, -10),
    "left external capsule": (32, 0, 6),
    "right external capsule": (-32, 0, 6),
    "septum pellucidum": (0, 10, 12),
}
PLAIN_WM = (25, -30, 30)


def _voxel(tpl_affine: np.ndarray, xyz: tuple[int, int, int]) -> tuple[int, ...]:
    return tuple(np.rint(np.linalg.inv(tpl_affine) @ (*xyz, 1))[:3].astype(int))


def test_template_marks_the_normal_bright_structures_only() -> None:
    tpl = mni_template(1.0)
    for name, xyz in STRUCTURES.items():
        assert tpl.bright[_voxel(tpl.affine, xyz)] > 0.5, name
    assert tpl.bright[_voxel(tpl.affine, PLAIN_WM)] < 0.05
    # a few structures, not the brain: well under 5 % of the tissue
    tissue = (tpl.gm + tpl.wm) > 0.5
    assert 0.001 < (tpl.bright > 0.5).sum() / tissue.sum() < 0.05
    # the septum is tissue inside the brain mask (the average had thinned it out of it)
    septum = _voxel(tpl.affine, STRUCTURES["septum pellucidum"])
    assert tpl.gm[septum] > 0.8 and tpl.gm[septum] + tpl.wm[septum] + tpl.csf[septum] > 0.9


def test_axial_holes_are_what_a_slice_encloses_but_leaves_out() -> None:
    # a ring in slice 1 (its hole counts), a C in slice 2 (open to the outside: no hole), and a
    # closed box in slices 4-8 whose cavity is a hole in each of its inner slices
    mask = np.zeros((20, 20, 10), bool)
    mask[5:15, 5:15, 1] = True
    mask[8:12, 8:12, 1] = False
    mask[5:15, 5:15, 2] = True
    mask[8:12, 8:20, 2] = False
    mask[5:15, 5:15, 4:9] = True
    mask[7:13, 7:13, 5:8] = False
    holes = axial_holes(mask)
    assert holes.dtype == bool and not (holes & mask).any()
    assert holes[:, :, 1].sum() == 16 and not holes[:, :, 2].any()
    assert holes[:, :, 5:8].sum() == 3 * 36 and not holes[:, :, [0, 3, 4, 8, 9]].any()


def test_fill_cisterns_fills_only_the_holes_with_csf_and_some_tissue() -> None:
    # a hollow tube of tissue along Z (its bore is a hole in every axial slice), capped at the
    # bottom, and a CSF pool beside it that stays CSF
    shape = (40, 40, 20)
    gm = np.zeros(shape, np.float32)
    wm = np.zeros(shape, np.float32)
    csf = np.zeros(shape, np.float32)
    i, j = np.ogrid[:40, :40]
    radius = np.hypot(i - 15, j - 15)
    wm[(radius >= 5) & (radius < 9)] = 1.0
    wm[:, :, 0][radius < 9] = 1.0
    csf[28:36, 28:36, :] = 1.0
    bore = np.broadcast_to((radius < 5)[..., None], shape).copy()
    bore[:, :, 0] = False
    gm2, csf2 = fill_cisterns(gm, wm, csf)
    total = gm2 + wm + csf2
    assert np.all(total[bore] > 0.99) and np.all(total <= 1.0 + 1e-6)
    mean, _std, top = CISTERN_TISSUE
    assert np.all(gm2[bore] <= top + 1e-6) and 0.5 * mean < gm2[bore].mean() < 1.5 * mean
    outside = ~bore
    assert np.array_equal(gm2[outside], gm[outside]) and np.array_equal(csf2[outside], csf[outside])


def test_template_keeps_the_basal_cisterns_in_the_brain_dark_grey() -> None:
    tpl = mni_template(1.0)
    brain = (tpl.gm + tpl.wm + tpl.csf) > 0.5
    holes = int(axial_holes(brain).sum())
    assert holes < 200  # the average's own left ~6,000 voxels out, at MNI z -28..-17 mm
    # the interpeduncular cistern, between the cerebral peduncles
    cistern = _voxel(tpl.affine, (0, -12, -22))
    assert brain[cistern] and tpl.csf[cistern] > 0.2
    c = replace(Contrast.draw(np.random.default_rng(0)), gm=1.4, csf=0.2)
    img = tissue_image(tpl.gm, tpl.wm, tpl.csf, tpl.caps, brain, c)
    box = tuple(slice(k - 2, k + 3) for k in cistern)
    ventricle = img[(tpl.vent_dist <= 0) & brain]
    # darker than the WM, brighter than the ventricles (vessels, nerves, partial volume)
    assert np.median(ventricle) < np.median(img[box]) < 0.8


def test_bright_structures_are_brighter_than_nawm_but_below_lesions() -> None:
    tpl = mni_template(1.0)
    brain = (tpl.gm + tpl.wm + tpl.csf) > 0.5
    c = replace(Contrast.draw(np.random.default_rng(0)), gm=1.38, bright_gain=0.22, cap_gain=0.2)
    flat = tissue_image(tpl.gm, tpl.wm, tpl.csf, tpl.caps, brain, replace(c, bright_gain=0.0))
    lit = tissue_image(tpl.gm, tpl.wm, tpl.csf, tpl.caps, brain, c, bright=tpl.bright)
    for name, xyz in STRUCTURES.items():
        v = _voxel(tpl.affine, xyz)
        assert lit[v] > 1.1, name  # brighter than NAWM (WM = 1)
        assert lit[v] > flat[v] * 1.02 or lit[v] >= TISSUE_MAX - 1e-4, name
    np.testing.assert_array_equal(lit[tpl.bright == 0], flat[tpl.bright == 0])
    lifted = lit > flat
    assert lifted.any() and lit[lifted].max() <= TISSUE_MAX + 1e-5
    # and below the dimmest lesion: a focal rim voxel on the brightest lifted tissue is above
    assert TISSUE_MAX < MIN_LESION_CONTRAST
    top = np.full(4, lit.max(), np.float32)
    core = np.full(4, 2.0, np.float32)  # the dimmest focal core
    rim = add_lesions(top.copy(), np.full(4, RIM_MIN_ALPHA, np.float32), core)
    assert np.all(rim > top)


def test_bright_structures_stay_outside_the_mask_and_below_lesions(
    clean_cases: list[SynthCase],
) -> None:
    tpl = mni_template(3.0)
    bright = tpl.bright > 0.5
    for case in clean_cases:  # noise-free, undeformed: template maps are the case's maps
        lesion = case.lesion_mask > 0
        assert (bright & lesion).sum() < 0.1 * bright.sum()  # not marked as lesion
        outside = bright & ~lesion & (case.brain_mask > 0)
        # (texture and bias still act on both, so compare distributions, not maxima)
        assert np.median(case.flair[outside]) < np.median(case.flair[lesion])
        assert np.percentile(case.flair[outside], 95) < np.percentile(case.flair[lesion], 90)


def test_dirty_wm_is_periventricular_and_within_the_nawm_range() -> None:
    tpl = mni_template(3.0)
    rng_seed = 3
    c = replace(Contrast.draw(np.random.default_rng(0)), dirty=0.18, nawm_random=0.0)
    plain = nawm_modulation(tpl.nawm, 3.0, replace(c, dirty=0.0), np.random.default_rng(rng_seed))
    dirty = nawm_modulation(tpl.nawm, 3.0, c, np.random.default_rng(rng_seed), tpl.vent_dist)
    assert NAWM_RANGE[0] <= dirty.min() and dirty.max() <= NAWM_RANGE[1]
    wm = tpl.wm > 0.9
    near, far = wm & (tpl.vent_dist > 0) & (tpl.vent_dist <= 4), wm & (tpl.vent_dist > 25)
    gain = dirty - plain
    assert gain[near].mean() > 0.05 and gain[far].mean() < 0.01
    assert gain[near].std() > 0.01  # patchy, not a uniform rim


def _band_spread(img: np.ndarray, fine_mm: float, coarse_mm: float) -> float:
    """Robust spread (1.4826 x MAD) of what lies between two Gaussian scales, away from the
    volume's faces."""
    band = ndimage.gaussian_filter(img, fine_mm) - ndimage.gaussian_filter(img, coarse_mm)
    inner = band[(slice(16, -16),) * 3]
    return float(1.4826 * np.median(np.abs(inner - np.median(inner))))


def test_random_wm_variation_is_as_blotchy_as_real_deep_wm() -> None:
    # the random part of the WM's brightness (the ~25 mm field, its ~10 mm patches, the ~4 mm
    # texture and the grain) on plain 1 mm WM, at the largest and at the median values cases draw
    draws = [Contrast.draw(np.random.default_rng(s)) for s in range(200)]

    def bands(pick) -> tuple[float, float]:  # noqa: ANN001 - max or np.median
        c = replace(
            draws[0],
            texture=pick([d.texture for d in draws]),
            nawm_random=pick([d.nawm_random for d in draws]),
            grain=pick([d.grain for d in draws]),
            nawm_regional=0.0,
            dirty=0.0,
            frontal_wm=0.0,
        )
        shape = (96, 96, 96)
        spreads = []
        for seed in range(3):
            rng = np.random.default_rng(seed)
            far = np.full(shape, 40.0, np.float32)  # mm from the ventricles: no dirty WM
            nawm = nawm_modulation(np.zeros(shape, np.float32), 1.0, c, rng, far)
            wm = texture_and_bias(1 + nawm, 1.0, c, rng, bias=False)
            wm /= np.median(wm)
            spreads.append((_band_spread(wm, 2.5, 6.0), _band_spread(wm, 6.0, 15.0)))
        low, high = np.mean(spreads, axis=0)
        return float(low), float(high)

    # the real scans' deep WM, anatomy and noise included, reads 0.025-0.035 (median 0.030)
    # and 0.027-0.033 (0.030) in these bands (synth_realism.py's wm_band_2_6 / wm_band_6_15,
    # the atlas fitted to each scan since round 19). At the largest draws the random part
    # alone stays below the real maxima (0.024 and 0.030 here); at the median draws it reads
    # 0.018 and 0.022 since round 29 (0.023 each before, whose texture left the synthetic WM
    # coarsely mottled beside the real scans' when zoomed; the real readings carry anatomy too),
    # where round 18's largest draws read 0.014-0.015 and 0.017-0.023 (its NAWM, read through
    # the fitted atlas, was 0.7 x as blotchy as real; round 13's 0.028-0.030 and 0.035-0.049
    # were blotchier than real)
    top, median = bands(max), bands(np.median)
    assert top[0] < 0.030 and top[1] < 0.033
    assert median[0] > 0.015 and median[1] > 0.02


def test_frontal_wm_darkens_more_in_2d_cases() -> None:
    tpl = mni_template(3.0)
    ramp = frontal_wm_ramp(tpl.shape, tpl.affine)[0, :, 0]
    y_mm = tpl.affine[1, 1] * np.arange(tpl.shape[1]) + tpl.affine[1, 3]
    assert np.all(np.diff(ramp) >= 0)  # darker towards the front only
    assert ramp[y_mm < -55].max() < 0 < ramp[y_mm > 55].min()
    c = replace(Contrast.draw(np.random.default_rng(0)), frontal_wm=0.25, dirty=0.0)
    plain = nawm_modulation(tpl.nawm, 3.0, replace(c, frontal_wm=0.0), np.random.default_rng(1))
    tilted = nawm_modulation(
        tpl.nawm, 3.0, c, np.random.default_rng(1), frontal=ramp[None, :, None]
    )
    assert NAWM_RANGE[0] <= tilted.min() and tilted.max() <= NAWM_RANGE[1]
    gain = tilted - plain
    wm = tpl.wm > 0.9
    front, back = wm & (y_mm > 55)[None, :, None], wm & (y_mm < -55)[None, :, None]
    assert gain[front].mean() < -0.12 and gain[back].mean() > 0.06
    # the back brightens as the front darkens: the NAWM level scans are normalised by stays
    # (0.034 x WM since round 28, whose deeper sulci took WM out of the convexity; 0.03 before)
    assert abs(float(np.median(gain[wm]))) < 0.04
    # the real 2D scans' frontal WM is 15-20 % darker than their posterior WM, the 3D ones' not
    draws = [Contrast.draw(np.random.default_rng(s)) for s in range(100)]
    two_d = [d.frontal_wm for d in draws if d.through_plane_mm > 0]
    three_d = [d.frontal_wm for d in draws if d.through_plane_mm == 0]
    assert min(two_d) > 0.15 and max(three_d) < 0.06


def test_lesion_halo_is_faint_outside_and_keeps_lesions_brighter() -> None:
    img = np.ones((40, 40, 40), np.float32)
    alpha = np.zeros_like(img)
    alpha[15:25, 15:25, 15:25] = 1.0
    c = replace(Contrast.draw(np.random.default_rng(0)), lesion_halo=0.12, lesion_fringe=0.0)
    out = lesion_halo(img.copy(), alpha, 1.0, c)
    assert out[14, 20, 20] > 1.05 and out[2, 2, 2] == 1.0  # lifted next to it, not far away
    assert out.max() <= TISSUE_MAX
    blended = add_lesions(out.copy(), alpha * RIM_MIN_ALPHA, np.full_like(img, MIN_LESION_CONTRAST))
    assert blended[alpha > 0].min() > out[alpha == 0].max()


def test_lesion_fringe_is_bright_next_to_the_mask_and_fades_within_a_few_mm() -> None:
    img = np.ones((40, 40, 40), np.float32)
    alpha = np.zeros_like(img)
    alpha[15:25, 15:25, 15:25] = 1.0
    base = Contrast.draw(np.random.default_rng(0))
    halo_only = lesion_halo(
        img.copy(), alpha, 1.0, replace(base, lesion_halo=0.08, lesion_fringe=0)
    )
    both = lesion_halo(img.copy(), alpha, 1.0, replace(base, lesion_halo=0.08, lesion_fringe=0.25))
    extra = both - halo_only  # the fringe's own lift, 1, 2, 3 voxels outside the mask
    near, second, third = extra[14, 20, 20], extra[13, 20, 20], extra[12, 20, 20]
    # real scans: 1.20, 1.06, 1.02 x NAWM at 1, 2, 3 voxels outside the masks
    assert near > 0.1 and second < 0.5 * near and third < 0.01
    assert extra[alpha == 0].max() <= near + 1e-6  # strongest at the edge
    assert both.max() <= TISSUE_MAX
    blended = add_lesions(
        both.copy(), alpha * RIM_MIN_ALPHA, np.full_like(img, MIN_LESION_CONTRAST)
    )
    assert blended[alpha > 0].min() > both[alpha == 0].max()  # lesions stay brighter
    nothing = lesion_halo(img.copy(), alpha, 1.0, replace(base, lesion_halo=0, lesion_fringe=0))
    np.testing.assert_array_equal(nothing, img)
