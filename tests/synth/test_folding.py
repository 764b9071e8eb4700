"""Procedural folding (extra and deeper sulci, gyral WM cores), fine grain, plaque edges."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage

from mslesion.synth import folding
from mslesion.synth.anatomy import (
    MIDLINE_SLAB,
    _infratentorial_region,
    mni_template,
    pial_outside,
)
from mslesion.synth.flair import Contrast, add_lesions, compress_above, texture_and_bias
from mslesion.synth.folding import (
    DEEP_SULCUS_EXTENSION_MM,
    PIAL_CORTEX_MM,
    deep_sulci,
    extra_sulci,
    narrow_fissure,
    thin_cortex,
)
from mslesion.synth.lesion_large import LARGE_MIN_CONTRAST, LARGE_RIM_MIN_ALPHA
from mslesion.synth.lesions import MIN_LESION_CONTRAST, RIM_MIN_ALPHA, rim_alpha

#: LAS 1 mm grid with x = 0 mm between voxels 31 and 32 (as in MNI: x = 31.5 - i)
_AFFINE = np.diag([-1.0, 1.0, 1.0, 1.0])
_AFFINE[0, 3] = 31.5


def _slab(gm_mm: int = 14) -> tuple[np.ndarray, ...]:
    """A 64x64x48 'brain' smeared like the average: the top ``gm_mm`` mm GM over WM, the pia
    at z = 44 (``outer`` above it), the whole slab in the cortical band. Returns gm, wm,
    sulci, outer, its depth below the pia (mm) and the band weight."""
    shape = (64, 64, 48)
    outer = np.zeros(shape, bool)
    outer[:, :, 44:] = True
    gm = np.zeros(shape, np.float32)
    wm = np.zeros(shape, np.float32)
    gm[:, :, 44 - gm_mm : 44] = 1.0
    wm[:, :, : 44 - gm_mm] = 1.0
    depth = np.broadcast_to(np.clip(44.0 - np.arange(48, dtype=np.float32), 0, None), shape)
    return gm, wm, np.zeros(shape, np.float32), outer, depth, np.ones(shape, np.float32)


def test_extra_sulci_split_the_thick_grey_matter_with_radial_sheets() -> None:
    _, wm, sulci, _, depth, band = _slab()
    lines = extra_sulci(wm, sulci, depth, band, _AFFINE, np.random.default_rng(0)) > 0.5
    assert lines[:, :, 31:44].mean() > 0.02  # sulci in the smeared GM...
    assert not lines[:, :, :31].any()  # ...never in the WM nor within 1 mm of it
    # lines are sheets perpendicular to the surface: a line voxel mostly has one right below it
    below = lines[:, :, 33:43] & lines[:, :, 32:42]
    assert below.sum() > 0.6 * lines[:, :, 33:43].sum()
    # thin sheets (~1.2 mm), not slabs: most GM voxels are not on a line
    assert lines[:, :, 31:44].mean() < 0.25
    # a gyrus' WM core is never cut: with WM right under the pia there is nothing to split
    _, wm_thin, *_ = _slab(gm_mm=1)
    assert extra_sulci(wm_thin, sulci, depth, band, _AFFINE, np.random.default_rng(0)).max() == 0
    # nothing outside the cortical band
    assert extra_sulci(wm, sulci, depth, 0 * band, _AFFINE, np.random.default_rng(0)).max() == 0


def test_extra_sulci_differ_between_the_hemispheres_across_the_fissure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # two hemispheres facing each other across a midline fissure (x = 0): the medial cortices
    # project onto nearly the same surface, and one shared field continued each sheet across
    # the midline (crosses); the lean is switched off so only the fields decide
    monkeypatch.setattr(folding, "SULCUS_BEND", 0.0)
    shape = (64, 48, 48)
    x_mm = 31.5 - np.arange(64, dtype=np.float32)
    depth = np.broadcast_to(np.clip(np.abs(x_mm) - 0.5, 0.0, None)[:, None, None], shape)
    wm = (depth > 14.0).astype(np.float32)
    band = np.ones(shape, np.float32)
    rng = np.random.default_rng(0)
    out = extra_sulci(wm, np.zeros(shape, np.float32), depth, band, _AFFINE, rng)
    left, right = out[32:44] > 0.5, out[20:32][::-1] > 0.5  # mirror pairs at equal depth
    assert left.mean() > 0.05 and right.mean() > 0.05
    both = (left & right).sum() / min(left.sum(), right.sum())
    assert both < 0.3  # by chance only: ~0.15 (one field for both sides: ~0.45)


def test_extra_sulci_lean_and_curve_with_depth(monkeypatch: pytest.MonkeyPatch) -> None:
    def vertical_share(bend: float) -> float:
        monkeypatch.setattr(folding, "SULCUS_BEND", bend)
        _, wm, sulci, _, depth, band = _slab()
        out = extra_sulci(wm, sulci, depth, band, _AFFINE, np.random.default_rng(0))
        lines = out[:, :, 33:43] > 0.5
        return float((lines & (out[:, :, 32:42] > 0.5)).sum() / max(lines.sum(), 1))

    shipped = folding.SULCUS_BEND
    straight, bent = vertical_share(0.0), vertical_share(shipped)
    assert straight > 0.8  # without the lean, a sheet is an extrusion along the normal
    assert bent < straight - 0.08  # with it, sheets drift sideways as they go deeper


def test_thin_cortex_gives_each_gyrus_a_white_matter_core() -> None:
    gm, wm, sulci, outer, _, band = _slab()
    sulci[32, :, 30:44] = 1.0  # one sulcus, a sheet at x = 32
    sulci[10, :, 33] = 0.4  # a faint line fragment deep in the smeared GM
    gm2, wm2, sulci2 = thin_cortex(gm, wm, sulci, outer, band)
    np.testing.assert_allclose(gm2 + wm2, gm + wm, atol=1e-6)  # tissue conserved
    assert gm2.min() >= 0 and wm2.max() <= 1 + 1e-6
    # distance from each voxel's centre to the nearest pial voxel's centre (the outside starts
    # at z = 44, the sulcus is the sheet x = 32), as thin_cortex measures it
    pial_mm = np.minimum(44.0 - np.arange(48)[None, :], np.abs(np.arange(64) - 32)[:, None])
    cortex = gm2[:, 20, 30:44] > 0.5  # (x, z) plane
    near_pia = pial_mm[:, 30:44] <= PIAL_CORTEX_MM
    assert cortex[near_pia].all()  # a thin ribbon along the surface and both sulcal banks
    assert not cortex[pial_mm[:, 30:44] >= PIAL_CORTEX_MM + 1].any()  # WM core beyond it
    assert sulci2[10, 20, 33] == 0  # a line left inside the new WM is dropped
    assert sulci2[32, 20, 35] == 1.0  # the sulcus itself stays
    # nothing outside the cortical band
    gm3, wm3, sulci3 = thin_cortex(gm, wm, sulci, outer, 0 * band)
    np.testing.assert_array_equal(gm3, gm)
    np.testing.assert_array_equal(sulci3, sulci)


def _deep_slab() -> tuple[np.ndarray, ...]:
    """:func:`_slab` with a 4 mm cortex (z 40-43, the pia at z = 44), one radial sulcus (a
    sheet at x = 31-32 from the pia down to z = 37, 3 mm into the WM) and one sheet lying at
    ~27 degrees to the surface (x 5-19, z 43 down to 36). Returns gm, wm, sulci, depth, band,
    vent_dist."""
    gm, wm, sulci, _, depth, band = _slab(gm_mm=4)
    sulci[31:33, 8:56, 37:44] = 1.0
    for x in range(5, 20):  # sinking 1 mm per 2 mm, from z = 43 to z = 36
        z = 43 - (x - 5) // 2
        sulci[x, 8:56, z - 1 : z + 1] = 1.0
    return gm, wm, sulci, np.ascontiguousarray(depth), band, np.full(gm.shape, 40.0, np.float32)


def test_deep_sulci_continue_a_radial_sulcus_into_the_white_matter_lined_with_cortex() -> None:
    gm, wm, sulci, depth, band, vent_dist = _deep_slab()
    gm2, wm2, sulci2 = deep_sulci(gm, wm, sulci, depth, band, vent_dist, np.random.default_rng(0))
    np.testing.assert_allclose(gm2 + wm2, gm + wm, atol=1e-6)  # tissue conserved
    assert (sulci2 >= sulci).all()  # lines are only added
    lo, hi = DEEP_SULCUS_EXTENSION_MM
    drawn = sulci2 > 0.9 * folding.DEEP_SULCUS_LINE
    line = drawn[28:36, 12:52]  # (x, y, z) around the radial sheet, its ends left out
    # the sheet's fundus was at z = 37 (7 mm deep); every y now reaches >= lo mm further in...
    deepest = np.array([np.flatnonzero(line[:, y].any(0)).min() for y in range(line.shape[1])])
    assert (deepest <= 37 - lo + 1).all()
    # ...but never beyond hi mm, and it stays a sheet (x within 1-2 voxels of the sulcus)
    assert (deepest >= 37 - hi - 1).all()
    new = drawn & ~(sulci > 0.5)
    assert not new[np.r_[0:29, 35:64], 12:52].any()
    # the new sulcus carries its cortex: GM on both banks, the WM 6 mm off untouched
    z = 37 - int(lo)  # a level every y reaches
    assert (gm2[30, 12:52, z] > 0.5).all() and (gm2[33, 12:52, z] > 0.5).all()
    np.testing.assert_array_equal(wm2[np.r_[0:25, 39:64], :, :37], wm[np.r_[0:25, 39:64], :, :37])
    # the oblique sheet is neither swept inward into a slab (its inner face) nor bent into a
    # radial spur at its deep end
    np.testing.assert_array_equal(sulci2[3:24], sulci[3:24])
    # nothing near the ventricles (corpus callosum, periventricular WM), nor out of the band
    near = np.full_like(vent_dist, 5.0)
    for args in ((depth, band, near), (depth, 0 * band, vent_dist)):
        out = deep_sulci(gm, wm, sulci, *args, np.random.default_rng(0))
        np.testing.assert_array_equal(out[1], wm)


def test_deep_sulci_leave_a_fragment_of_a_line_alone() -> None:
    gm, wm, sulci, depth, band, vent_dist = _deep_slab()
    sulci[:] = 0.0
    sulci[40:42, 30:32, 38:44] = 1.0  # a 2x2 mm stub: its fundus is 4 voxels
    gm2, wm2, sulci2 = deep_sulci(gm, wm, sulci, depth, band, vent_dist, np.random.default_rng(0))
    np.testing.assert_array_equal(sulci2, sulci)
    np.testing.assert_array_equal(wm2, wm)


def test_template_cortex_is_a_thin_ribbon_with_a_medial_pia() -> None:
    tpl = mni_template(1.0)
    # adult brains: GM is ~55 % of GM + WM, less in MS; the average smeared it to 60 %,
    # folding made 64 %, the 2.5 mm cortex 51 %, the 2.0 mm cortex of round 24 48 %, round
    # 28's deeper sulci 56 %
    gm_share = float(tpl.gm.sum() / (tpl.gm.sum() + tpl.wm.sum()))
    assert 0.45 < gm_share < 0.6
    # the sulci reach into the WM, lined with cortex: 8-11 mm below the surface GM holds 47 %
    # of the band (36 % before round 28, the average's WM a broad mass under a shallow cortex)
    shell = (tpl.surface_mm >= 8) & (tpl.surface_mm < 11)
    assert (tpl.gm[shell] > 0.5).mean() > 0.43
    # the interhemispheric fissure is pia above the corpus callosum, not inside the thalamus
    infra = _infratentorial_region(tpl.shape, tpl.affine)
    hull = (tpl.gm + tpl.wm + tpl.csf) > 0.3
    outer = pial_outside(hull, tpl.csf, tpl.wm, tpl.vent_dist, infra)
    midline = outer[MIDLINE_SLAB]
    assert midline[:, 126 + 20, 72 + 50].all()  # (0, +20, +50) mm: medial frontal cortex
    assert not midline[:, 126 - 15, 72 + 5].any()  # (0, -15, +5) mm: thalamus
    assert not outer[90 + 30, 126, 72 + 20]  # deep WM


def test_template_traces_the_cingulate_and_callosal_sulci() -> None:
    tpl = mni_template(1.0)
    lines = tpl.sulci > 0.5
    for x in (84, 96):  # 6 mm either side of the midline
        # every column above the corpus callosum body (z = +15..+50 mm, y = -30..+30 mm) crosses
        # two arcs around the cingulate gyrus; before round 21 a tenth of them did
        crossings = [
            ndimage.label(lines[x, 126 + y, 72 + 15 : 72 + 50])[1] for y in range(-30, 31, 2)
        ]
        assert np.mean(np.array(crossings) >= 2) > 0.8
        # the cingulate gyrus between them is cortex, not WM with GM dashes: GM holds 48-49 %
        # of that area (33-36 % before round 21)
        assert (tpl.gm[x, 126 - 30 : 126 + 31, 72 + 15 : 72 + 50] > 0.5).mean() > 0.42


def test_medial_cortex_is_near_the_fissure_away_from_ventricles_and_deep_grey() -> None:
    shape = (64, 64, 48)
    falx = np.zeros(shape, bool)
    falx[31:33, :, 24:] = True  # the fissure's pia in the upper half, x = 0 mm
    vent_dist = np.full(shape, 40.0, np.float32)
    vent_dist[:, :, :10] = 2.0
    affine = _AFFINE.copy()
    affine[1, 3] = affine[2, 3] = 60.0  # y, z = +60 mm and up: no deep grey box here
    medial = folding.medial_cortex(falx, vent_dist, affine)
    assert medial[32 + 10, 20, 30] and not medial[32 + 20, 20, 30]  # 10 vs 20 mm lateral
    # 12 and 15 mm below the fissure, both within reach; the second 2 mm from a ventricle
    assert medial[32, 20, 12] and not medial[32, 20, 9]
    affine[1, 3] = affine[2, 3] = 0.0  # now the deep grey box covers the slab's lower half
    assert not folding.medial_cortex(falx, vent_dist, affine)[32 + 5, 20, 15]


def test_mottled_lesion_cores_vary_but_never_drop_below_the_minimum() -> None:
    alpha = np.zeros((40, 40, 40), np.float32)
    alpha[5:35, 5:35, 5:35] = 1.0
    contrast = np.where(alpha > 0, 1.8, 0.0).astype(np.float32)

    def blend(seed: int) -> np.ndarray:
        img = np.ones(alpha.shape, np.float32)
        return add_lesions(img, alpha, contrast, mottle=(1.0, np.random.default_rng(seed)))

    out = blend(0)
    inside = out[alpha > 0]  # alpha = 1: the image is the mottled core itself
    assert inside.min() >= MIN_LESION_CONTRAST - 1e-6
    assert inside.std() > 0.05 and inside.max() > 1.9  # one plaque, several levels
    np.testing.assert_array_equal(out[alpha == 0], 1.0)
    # ~3 mm blobs, not voxel noise: neighbours are strongly correlated
    core = out[10:30, 10:30, 10:30]
    assert np.corrcoef(core[1:].ravel(), core[:-1].ravel())[0, 1] > 0.8
    np.testing.assert_array_equal(out, blend(0))
    assert not np.array_equal(out, blend(1))
    # without mottling every voxel gets its lesion's one core
    flat = add_lesions(np.ones(alpha.shape, np.float32), alpha, contrast)
    np.testing.assert_allclose(flat[alpha > 0], 1.8)
    # no lesions: nothing drawn from the generator
    rng = np.random.default_rng(0)
    empty = np.zeros_like(alpha)
    add_lesions(np.ones(alpha.shape, np.float32), empty, contrast, mottle=(1.0, rng))
    assert rng.random() == np.random.default_rng(0).random()


def test_lesion_gain_scales_the_cores_excess_and_never_dims_them() -> None:
    alpha = np.zeros((20, 20, 20), np.float32)
    alpha[5:15, 5:15, 5:15] = 1.0
    alpha[4, 5:15, 5:15] = 0.7  # a rim: blended from its tissue
    contrast = np.where(alpha > 0, 1.8, 0.0).astype(np.float32)
    plain = add_lesions(np.ones(alpha.shape, np.float32), alpha, contrast)
    bright = add_lesions(np.ones(alpha.shape, np.float32), alpha, contrast, gain=1.5)
    np.testing.assert_allclose(bright[alpha == 1], 1 + 1.5 * 0.8)
    assert (bright[alpha > 0] > plain[alpha > 0]).all()
    np.testing.assert_array_equal(bright[alpha == 0], 1.0)
    with pytest.raises(ValueError, match="gain"):
        add_lesions(np.ones(alpha.shape, np.float32), alpha, contrast, gain=0.8)


def test_compressing_above_a_knee_keeps_the_order_of_intensities() -> None:
    values = np.linspace(0.0, 2.0, 201, dtype=np.float32)
    out = compress_above(values.copy(), 1.3, 0.5)
    below = values <= 1.3
    np.testing.assert_array_equal(out[below], values[below])  # WM, GM below the knee alone
    np.testing.assert_allclose(out[-1], 1.3 + 0.5 * 0.7, rtol=1e-6)  # half the excess above
    assert (np.diff(out) > 0).all()  # monotonic: a lesion stays above its tissue
    with pytest.raises(ValueError, match="slope"):
        compress_above(values.copy(), 1.3, 0.0)


def test_narrow_fissure_pulls_the_hemispheres_together_where_the_weight_says() -> None:
    # tissue (1) with a 5-voxel CSF gap (0) round the midline at x index 20
    tissue = np.ones((41, 4, 3), np.float32)
    tissue[18:23] = 0.0
    weight = np.zeros((4, 3), np.float32)
    weight[:2] = 1.0  # the fissure in the first two rows of (y, z), crossing tissue elsewhere
    (out,) = narrow_fissure((tissue,), 20.0, weight)
    gap = (out[:, :2] < 0.5).sum(0)
    assert (gap < 5).all() and (gap >= 1).all()  # narrower, but still open at the midline
    assert out[20, 0, 0] == 0.0
    np.testing.assert_array_equal(out[:, 2:], tissue[:, 2:])  # weight 0: untouched
    np.testing.assert_array_equal(out[:5], tissue[:5])  # far from the midline: untouched
    np.testing.assert_array_equal(out[36:], tissue[36:])
    # the build's template: the fissure above the corpus callosum (MNI x = 0 is index 90) is
    # CSF at the midline voxel only (the average held 0.3 CSF 1 mm either side)
    tpl = mni_template(1.0)
    frontal = tpl.csf[:, 160:180, 105:115]
    assert frontal[90].mean() > 0.3
    assert max(frontal[89].mean(), frontal[91].mean()) < 0.15  # (0.40 before)


def test_fine_grain_adds_high_frequency_texture() -> None:
    img = np.ones((48, 48, 48), np.float32)
    base = replace(Contrast.draw(np.random.default_rng(0)), texture=0.05, grain=0.0)
    flat = texture_and_bias(img.copy(), 1.0, base, np.random.default_rng(1), bias=False)
    grainy = texture_and_bias(
        img.copy(), 1.0, replace(base, grain=0.05), np.random.default_rng(1), bias=False
    )

    def roughness(a: np.ndarray) -> float:
        return float(np.abs(np.diff(a, axis=0)).mean())

    assert roughness(grainy) > 1.5 * roughness(flat)
    # skipped on coarse grids (it would only add noise there)
    coarse = texture_and_bias(
        img.copy(), 3.0, replace(base, grain=0.05), np.random.default_rng(1), bias=False
    )
    same = texture_and_bias(img.copy(), 3.0, base, np.random.default_rng(1), bias=False)
    np.testing.assert_array_equal(coarse, same)


def test_large_lesion_edges_fade_but_stay_brighter_than_their_tissue() -> None:
    grid = np.zeros((41, 41, 41), bool)
    grid[5:36, 5:36, 5:36] = True
    alpha = rim_alpha(grid, rim_vox=6.0, min_alpha=LARGE_RIM_MIN_ALPHA)
    assert alpha[grid].min() == pytest.approx(LARGE_RIM_MIN_ALPHA)
    # flatter than focal lesions' (real large lesions are about as bright at the edge as inside)
    assert LARGE_RIM_MIN_ALPHA > RIM_MIN_ALPHA
    # smooth: no step larger than the ramp allows between neighbouring depths
    assert np.abs(np.diff(alpha[20, 20, 5:21])).max() < 0.2
    # exactness: any tissue a lesion may sit in (up to WM 1.3 x caps 1.2) is lifted above itself
    tissue = np.linspace(0.2, 1.56, 50, dtype=np.float32)
    lifted = add_lesions(
        tissue.copy(),
        np.full_like(tissue, LARGE_RIM_MIN_ALPHA),
        np.full_like(tissue, LARGE_MIN_CONTRAST),
    )
    assert np.all(lifted > tissue + 0.04)
    assert np.all(lifted > 1.0)
