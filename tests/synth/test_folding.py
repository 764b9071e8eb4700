"""Procedural folding (extra sulci, cerebellar folia), fine grain and the plaques' soft edge."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mslesion.synth import folding
from mslesion.synth.anatomy import _infratentorial_region, mni_template
from mslesion.synth.flair import Contrast, add_lesions, texture_and_bias
from mslesion.synth.folding import CORTEX_MM, cerebellum_region, extra_sulci
from mslesion.synth.lesions import (
    MIN_LESION_CONTRAST,
    PLAQUE_RIM_MIN_ALPHA,
    RIM_MIN_ALPHA,
    _rim_alpha,
)


def _slab() -> tuple[np.ndarray, ...]:
    """A 64x64x48 'brain': top 3 mm GM over WM, hull = everything below z = 44."""
    shape = (64, 64, 48)
    hull = np.zeros(shape, bool)
    hull[:, :, :44] = True
    gm = np.zeros(shape, np.float32)
    wm = np.zeros(shape, np.float32)
    gm[:, :, 41:44] = 1.0
    wm[:, :, :41] = 1.0
    z = np.arange(shape[2], dtype=np.float32)
    hull_depth = np.broadcast_to(np.clip(43.5 - z, 0, None), shape).astype(np.float32)
    csf = np.zeros(shape, np.float32)
    vent = np.full(shape, 40.0, np.float32)
    return gm, wm, csf, np.zeros(shape, np.float32), hull, hull_depth, vent


def test_extra_sulci_cut_radial_lines_lined_with_cortex() -> None:
    gm, wm, csf, sulci, hull, hull_depth, vent = _slab()
    no_cerebellum = np.zeros(hull.shape, bool)
    gm2, wm2, sulci2 = extra_sulci(
        gm, wm, csf, sulci, hull, hull_depth, vent, no_cerebellum, np.random.default_rng(0)
    )
    np.testing.assert_allclose(gm2 + wm2, gm + wm, atol=1e-5)  # tissue conserved
    assert wm2.min() >= 0 and gm2.max() <= 1 + 1e-6
    lines = sulci2 > 0.5
    assert lines[:, :, 30:44].mean() > 0.02  # sulci in the outer 14 mm...
    assert not lines[:, :, :25].any()  # ...never deeper than 16 mm + ramp
    # lines are sheets perpendicular to the surface: a line voxel mostly has one right below it
    below = lines[:, :, 30:43] & lines[:, :, 29:42]
    assert below.sum() > 0.6 * lines[:, :, 30:43].sum()
    # the WM next to a new line became cortex (GM), within CORTEX_MM of it
    converted = (wm - wm2) > 0.5
    assert converted[:, :, 30:41].sum() > lines[:, :, 30:41].sum()
    assert np.all(gm2[lines] > 0.3)
    # nothing happens in an excluded region (cerebellum)
    everywhere = np.ones(hull.shape, bool)
    gm3, _, sulci3 = extra_sulci(
        gm, wm, csf, sulci, hull, hull_depth, vent, everywhere, np.random.default_rng(0)
    )
    np.testing.assert_array_equal(gm3, gm)
    assert sulci3.max() == 0
    assert CORTEX_MM >= 2.0


def test_extra_sulci_lean_and_curve_with_depth(monkeypatch: pytest.MonkeyPatch) -> None:
    def vertical_share(bend: float) -> float:
        monkeypatch.setattr(folding, "SULCUS_BEND", bend)
        gm, wm, csf, sulci, hull, hull_depth, vent = _slab()
        _, _, out = extra_sulci(
            gm,
            wm,
            csf,
            sulci,
            hull,
            hull_depth,
            vent,
            np.zeros(hull.shape, bool),
            np.random.default_rng(0),
        )
        lines = out[:, :, 30:43] > 0.5
        return float((lines & (out[:, :, 29:42] > 0.5)).sum() / max(lines.sum(), 1))

    shipped = folding.SULCUS_BEND
    straight, bent = vertical_share(0.0), vertical_share(shipped)
    assert straight > 0.8  # without the lean, a sheet is an extrusion along the normal
    assert bent < straight - 0.08  # with it, sheets drift sideways as they go deeper


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


def test_template_cerebellum_has_folia_and_more_cortical_sulci() -> None:
    tpl = mni_template(1.0)
    infra = _infratentorial_region(tpl.shape, tpl.affine)
    cerebellum = cerebellum_region(tpl.shape, tpl.affine) & infra & (tpl.gm > 0.5)
    # before the folia the cerebellum had no sulcal lines at all
    assert (tpl.sulci[cerebellum] > 0.3).mean() > 0.05
    # the midline sagittal slab is not one dark sulcal sheet (the fissure is attenuated)
    assert tpl.sulci[89:92].mean() < 0.5 * tpl.sulci[60:63].mean() + 0.05


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


def test_plaque_edges_fade_but_stay_brighter_than_their_tissue() -> None:
    grid = np.zeros((41, 41, 41), bool)
    grid[5:36, 5:36, 5:36] = True
    alpha = _rim_alpha(grid, rim_vox=6.0, min_alpha=PLAQUE_RIM_MIN_ALPHA)
    assert alpha[grid].min() == pytest.approx(PLAQUE_RIM_MIN_ALPHA)
    assert PLAQUE_RIM_MIN_ALPHA < RIM_MIN_ALPHA  # softer edge than focal lesions
    # smooth: no step larger than the ramp allows between neighbouring depths
    assert np.abs(np.diff(alpha[20, 20, 5:21])).max() < 0.2
    # exactness: any tissue a lesion may sit in (up to WM 1.3 x caps 1.2) is lifted above itself
    tissue = np.linspace(0.2, 1.56, 50, dtype=np.float32)
    lifted = add_lesions(
        tissue.copy(),
        np.full_like(tissue, PLAQUE_RIM_MIN_ALPHA),
        np.full_like(tissue, MIN_LESION_CONTRAST),
    )
    assert np.all(lifted > tissue + 0.04)
    assert np.all(lifted > 1.0)
