"""Per-case cortical atrophy (``mslesion.synth.atrophy``)."""

from __future__ import annotations

import numpy as np
import pytest
from synth_configs import CLEAN

from mslesion.synth import atrophy, generate_case
from mslesion.synth.anatomy import FALX_PIA_MM, MIDLINE_SLAB, mni_template


def test_atrophy_moves_the_pia_in_by_the_drawn_depth_and_only_there() -> None:
    tpl = mni_template(1.0)
    brain = (tpl.gm + tpl.wm + tpl.csf) > 0
    moved_ml = []
    for depth_mm in (0.0, 1.5, 3.0):
        depth = np.full(tpl.shape, depth_mm, np.float32)
        gm, csf = atrophy.cortical_atrophy(tpl.gm, tpl.csf, tpl.pial_mm, depth, 1.0)
        moved = tpl.gm - gm
        # GM turns into CSF voxel by voxel, inside the brain, never below the drawn depth
        np.testing.assert_allclose(gm + csf, tpl.gm + tpl.csf, atol=1e-6)
        assert moved.min() >= 0 and not moved[~brain].any()
        assert not moved[tpl.pial_mm >= depth_mm].any()
        # within a ramp of the new pia, all of it (the pia really moved in)
        shallow = tpl.pial_mm <= depth_mm - atrophy.RAMP_MM
        np.testing.assert_allclose(gm[shallow], 0.0, atol=1e-6)
        moved_ml.append(float(moved.sum()) / 1000)
    assert moved_ml[0] == 0.0  # no atrophy drawn: the template's cortex as it was
    # the outer CSF and the sulci widen with the depth: tens of ml, more for the deeper one
    assert 10 < moved_ml[1] < moved_ml[2] / 1.5
    # only the cerebral cortex (the brainstem and the deep grey nuclei are 20 mm "deep")
    assert tpl.pial_mm.max() == pytest.approx(20.0)


def test_the_falx_opens_less_than_the_other_pia() -> None:
    # counted as plain pia, the midline slab's cortex turned smoothly into CSF: a dark frontal
    # area on the midline sagittal slice where a case's atrophy was deep
    tpl = mni_template(1.0)
    cortex = tpl.pial_mm < 20.0
    midline = np.zeros(tpl.shape, bool)
    midline[MIDLINE_SLAB] = True
    depth = np.full(tpl.shape, FALX_PIA_MM, np.float32)
    gm, _ = atrophy.cortical_atrophy(tpl.gm, tpl.csf, tpl.pial_mm, depth, 1.0)
    moved = tpl.gm - gm

    def share(region: np.ndarray) -> float:
        return float(moved[region].sum() / tpl.gm[region].sum())

    # only the medial sulci open there (the rest of the cortex: ~18 %)
    assert share(cortex & midline) < 0.4 * share(cortex)
    assert share(cortex & ~midline) > 0.1


def test_each_case_draws_a_smooth_depth_around_its_own_mean() -> None:
    shape = mni_template(3.0).shape
    means = []
    for seed in range(6):
        depth = atrophy.atrophy_depth_mm(shape, 3.0, np.random.default_rng(seed))
        assert depth.min() >= 0 and depth.std() > 0  # regional, never negative
        means.append(float(depth.mean()))
    lo, hi = atrophy.ATROPHY_MM
    assert all(0.7 * lo <= m <= 1.3 * hi for m in means)
    assert max(means) - min(means) > 0.3 * (hi - lo)  # cases differ


def test_atrophied_cases_show_more_csf_and_keep_lesions_out_of_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mslesion.synth import generate

    seen: list[np.ndarray] = []

    def record(*args: object) -> tuple[np.ndarray, np.ndarray]:
        gm, csf = atrophy.cortical_atrophy(*args)  # type: ignore[arg-type]
        seen.append(csf)
        return gm, csf

    monkeypatch.setattr(generate, "cortical_atrophy", record)
    cases = {}
    for depth_mm in (0.0, 3.0):
        monkeypatch.setattr(atrophy, "ATROPHY_MM", (depth_mm, depth_mm))
        cases[depth_mm] = generate_case(5, CLEAN)  # same draws, only the depth differs
    none, strong = cases[0.0], cases[3.0]
    np.testing.assert_array_equal(none.brain_mask, strong.brain_mask)  # the brain stays put
    brain = none.brain_mask > 0

    def dark(case: object) -> float:
        img = case.flair  # type: ignore[attr-defined]
        return float((img[brain] < 0.5 * np.median(img[brain])).mean())

    assert dark(strong) > dark(none) + 0.02
    # lesions only where the atrophied anatomy still allows them: never in the new CSF (CLEAN is
    # undeformed, so the template-space CSF is the case's)
    assert strong.lesion_mask.any() and len(seen) == 2
    assert seen[1][strong.lesion_mask > 0].max() < 0.15
    assert seen[1][brain].sum() > 1.1 * seen[0][brain].sum()


@pytest.mark.parametrize("taper", [atrophy.OPENING_TAPER, atrophy.WIDENING_TAPER])
def test_sulci_open_less_towards_their_fundus(taper: tuple[float, float, float]) -> None:
    # a real sulcus is wide open at its mouth and closes towards its fundus; opened and widened
    # alike at every depth, the sulci drew dark dashes ~10 mm into the cortex (CSF-dark share
    # 8 mm below the surface, synth_realism.py's dark_8mm: 0.080 in round 14's 8 cases vs
    # 0.044 in the real scans)
    start, end, floor = taper
    depth_mm = np.linspace(0.0, 20.0, 81, dtype=np.float32)
    curve = atrophy.sulcal_taper(depth_mm, taper)
    assert np.all(np.diff(curve) <= 0)
    np.testing.assert_allclose(curve[depth_mm <= start], 1.0)
    np.testing.assert_allclose(curve[depth_mm >= end], floor)
    # on the template, as a case draws it: the cortex deep in its sulci loses far less GM
    tpl = mni_template(1.0)
    depth = np.full(tpl.shape, 2.0, np.float32) * atrophy.sulcal_taper(tpl.surface_mm, taper)
    gm, _ = atrophy.cortical_atrophy(tpl.gm, tpl.csf, tpl.pial_mm, depth, 1.0)
    moved = tpl.gm - gm
    cortex = (tpl.pial_mm < 20.0) & (tpl.gm > 0.1)

    def share(region: np.ndarray) -> float:
        return float(moved[region].sum() / tpl.gm[region].sum())

    near_mouth = cortex & (tpl.surface_mm <= start)
    near_fundus = cortex & (tpl.surface_mm >= end) & (tpl.surface_mm < 20.0)
    assert near_fundus.sum() > 1000  # the template's sulci reach that deep
    assert share(near_fundus) < (floor + 0.1) * share(near_mouth)
    # the depth is below the outer surface, not below the nearest pia: a sulcal line deep in
    # the cortex has pial_mm 0 there but surface_mm > 0
    assert tpl.surface_mm[tpl.sulci > 0.5].max() > end


def test_atrophy_widens_the_sulci_less_deep_down_than_it_opens_them() -> None:
    # round 20: widened as deep as they opened, the sulci's CSF-dark share fell off half as
    # fast below the mouth as the real scans' (0.141 vs 0.090 at 4 mm, 0.113 vs 0.055 at 6 mm)
    depth_mm = np.linspace(0.0, 20.0, 81, dtype=np.float32)
    opening = atrophy.sulcal_taper(depth_mm, atrophy.OPENING_TAPER)
    widening = atrophy.sulcal_taper(depth_mm, atrophy.WIDENING_TAPER)
    assert np.all(widening <= opening)
    assert np.all(widening[depth_mm >= 6.0] < opening[depth_mm >= 6.0])


def test_medial_calm_weighs_the_medial_cortex_above_the_callosum_only() -> None:
    tpl = mni_template(1.0)
    weight = np.broadcast_to(atrophy.medial_calm(tpl.shape, tpl.affine), tpl.shape)
    assert weight.min() >= 0.0 and weight.max() <= 1.0

    def at(x_mm: float, y_mm: float, z_mm: float) -> float:
        index = np.round(np.linalg.solve(tpl.affine, [x_mm, y_mm, z_mm, 1.0])[:3]).astype(int)
        return float(weight[tuple(index)])

    # the cingulate and medial frontal cortex of both hemispheres, above the corpus callosum
    for point in ((0, 0, 40), (-10, 20, 35), (10, -40, 50), (6, 50, 25)):
        assert at(*point) == 1.0, point
    # not the lateral cortex, the deep grey, the occipital pole's medial sulci or the frontal pole
    for point in ((-20, 0, 40), (30, 10, 40), (0, 0, -5), (4, -80, 20), (4, 75, 10)):
        assert at(*point) == 0.0, point


def test_the_medial_cortex_opens_and_atrophies_less(monkeypatch: pytest.MonkeyPatch) -> None:
    # round 27: widened like any pia, the merged medial cortex read as a dark ladder or band
    # along the falx on axial slices at z +30..+45 mm, darker than in any real scan but one
    from mslesion.synth import generate

    tpl = mni_template(CLEAN.voxel_size_mm)
    calm = np.broadcast_to(atrophy.medial_calm(tpl.shape, tpl.affine), tpl.shape) == 1.0
    far = np.broadcast_to(atrophy.medial_calm(tpl.shape, tpl.affine), tpl.shape) == 0.0
    cases = {}
    for shares in ((0.0, 0.0), (atrophy.MEDIAL_CALM_OPEN, atrophy.MEDIAL_CALM_ATROPHY)):
        monkeypatch.setattr(generate, "MEDIAL_CALM_OPEN", shares[0])
        monkeypatch.setattr(generate, "MEDIAL_CALM_ATROPHY", shares[1])
        cases[shares[0] > 0] = generate_case(3, CLEAN)  # undeformed: template space
    lesions = (cases[False].lesion_mask > 0) | (cases[True].lesion_mask > 0)

    def dark(case: object, region: np.ndarray) -> float:
        img = case.flair  # type: ignore[attr-defined]
        counted = region & (img > 0) & ~lesions
        return float((img[counted] < 0.5 * np.median(img[img > 0])).sum())

    # (seed 3 at 3 mm: 786 dark voxels there without the calm, 480 with it)
    assert dark(cases[True], calm) < 0.85 * dark(cases[False], calm)
    assert dark(cases[True], far) == pytest.approx(dark(cases[False], far), rel=0.01)


def test_the_fissure_opens_to_a_drawn_width_where_the_midline_is_fissure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(atrophy, "FISSURE_CLOSE", (10.0, 1.0))  # never closed (next test)
    shape, midline = (21, 40, 24), 10.0
    gm = np.full(shape, 0.8, np.float32)
    csf = np.full(shape, 0.1, np.float32)
    weight = np.zeros(shape[1:], np.float32)
    weight[:, :12] = 1.0  # fissure below z = 12 only (above it something crosses the midline)
    new_gm, new_csf = atrophy.open_fissure(gm, csf, midline, weight, 1.0, np.random.default_rng(0))
    assert np.allclose(new_gm + new_csf, gm + csf)  # GM turns into CSF, nothing else
    assert np.array_equal(new_gm[:, :, 12:], gm[:, :, 12:])
    assert np.array_equal(new_gm[:5], gm[:5]) and np.array_equal(new_gm[-5:], gm[-5:])
    width = (gm - new_gm)[:, :, :12].sum(0) / 0.8  # (Y, Z): opened voxels across the midline
    lo, hi = atrophy.FISSURE_HALF_MM
    assert width.min() > 0.2 * 2 * lo
    assert width.max() < 2 * hi * (1 + 3 * atrophy.FISSURE_HALF_VARIATION) + 1
    assert width.std() > 0.05  # the width varies along the fissure
    centre = ((gm - new_gm)[:, :, :12] * np.arange(shape[0])[:, None, None]).sum(0) / (
        (gm - new_gm)[:, :, :12].sum(0)
    )
    assert abs(centre.mean() - midline) < 0.5 and centre.std() > 0.02  # it wanders a little
    again, _ = atrophy.open_fissure(gm, csf, midline, weight, 1.0, np.random.default_rng(0))
    assert np.array_equal(again, new_gm)


def test_the_fissure_s_walls_fade_over_its_edge_width(monkeypatch: pytest.MonkeyPatch) -> None:
    # round 35: a one-voxel edge left a hairline with bright banks once sharpened
    shape, midline = (21, 30, 10), 10.0
    gm = np.full(shape, 0.8, np.float32)
    csf = np.full(shape, 0.1, np.float32)
    weight = np.ones(shape[1:], np.float32)

    monkeypatch.setattr(atrophy, "FISSURE_CLOSE", (10.0, 1.0))  # never closed

    def partial_voxels(edge_mm: float) -> float:
        monkeypatch.setattr(atrophy, "FISSURE_EDGE_MM", edge_mm)
        new_gm, _ = atrophy.open_fissure(gm, csf, midline, weight, 1.0, np.random.default_rng(2))
        share = (gm - new_gm) / 0.8
        return float(((share > 0.02) & (share < 0.98)).sum(0).mean())  # per row across

    assert partial_voxels(1.0) <= 2.0  # one voxel of partial volume on each side
    assert partial_voxels(2.5) >= 2.8


def test_the_fissure_closes_in_stretches_turning_its_midline_csf_into_cortex(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # round 36: a 3D case's fissure ran dark and unbroken from the vertex to the callosum
    shape, midline = (21, 60, 60), 10.0
    gm = np.full(shape, 0.45, np.float32)
    csf = np.zeros(shape, np.float32)
    csf[10] = 0.9  # the template's one-voxel line
    gm[10] = 0.05
    weight = np.ones(shape[1:], np.float32)

    def opened(close: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        monkeypatch.setattr(atrophy, "FISSURE_CLOSE", close)
        rng = np.random.default_rng(3)
        new_gm, new_csf = atrophy.open_fissure(gm, csf, midline, weight, 1.0, rng)
        assert np.allclose(new_gm + new_csf, gm + csf)  # GM and CSF trade, nothing else
        return new_gm, new_csf

    drawn = atrophy.FISSURE_CLOSE
    never, shut = opened((10.0, 1.0)), opened((-10.0, 1.0))
    assert never[1][10].min() >= 0.9  # the line stays CSF, the fissure opens round it
    assert (never[1][8:13].sum(0) > 1.0).all()
    assert shut[1].max() < 1e-6  # all closed: its CSF turned into cortex, nothing opened
    default = opened(drawn)[1][10]
    # in stretches: some of the line closes, most of it stays open
    assert 0.05 < (default < 0.45).mean() < 0.6 and (default > 0.85).mean() > 0.3


@pytest.mark.parametrize("seed", [0, 1])
def test_only_3d_cases_open_the_fissure(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # the real 2D scans' thick slices fill their fissure in (its darkest voxel 0.75 x the brain
    # median, the 2D cases' 0.70-0.92 without it), so 2D cases keep their bytes
    from mslesion.synth import generate

    calls = []

    def record(gm, csf, *args):  # noqa: ANN001, ANN202
        calls.append(args)
        return gm, csf

    monkeypatch.setattr(generate, "open_fissure", record)
    case = generate_case(seed, CLEAN)
    assert len(calls) == (1 if case.acquisition == "3D" else 0)
