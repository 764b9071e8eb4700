from __future__ import annotations

from dataclasses import replace

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from mslesion.preprocess.templates import template_path
from mslesion.synth.anatomy import (
    MNI_AFFINE_1MM,
    OUTSIDE_CAP_MM,
    ZONES,
    _lateral_ventricles,
    _nilearn_on_mni_grid,
    _sharpen_wm,
    mni_grid,
    mni_template,
)
from mslesion.synth.atrophy import open_sulci
from mslesion.synth.flair import (
    NAWM_RANGE,
    Contrast,
    add_lesions,
    nawm_modulation,
    tissue_image,
)
from mslesion.synth.folding import sulcal_core
from mslesion.synth.lesions import (
    MIN_LESION_CONTRAST,
    RIM_MIN_ALPHA,
    ellipsoid_shape,
    rim_alpha,
)
from mslesion.synth.real import fill_lesions


def test_grids_share_centre_and_field_of_view() -> None:
    for v in (1.0, 2.0, 3.0):
        shape, affine = mni_grid(v)
        centre = affine @ np.append((np.array(shape) - 1) / 2, 1)
        ref = MNI_AFFINE_1MM @ np.append((np.array((182, 218, 182)) - 1) / 2, 1)
        np.testing.assert_allclose(centre, ref, atol=1e-6)
        np.testing.assert_allclose(np.array(shape) * v, (182, 218, 182), atol=v)


def test_nilearn_maps_are_reindexed_to_the_same_world_points() -> None:
    img = nib.load(str(template_path("wm")))
    src = np.asarray(img.dataobj)
    ours = _nilearn_on_mni_grid("wm")
    for ijk in [(91, 109, 91), (60, 130, 100), (120, 80, 40)]:
        world = MNI_AFFINE_1MM @ np.append(ijk, 1)
        src_ijk = np.rint(np.linalg.inv(img.affine) @ world)[:3].astype(int)
        assert ours[ijk] == pytest.approx(src[tuple(src_ijk)] / 255.0)


def test_template_tissues_are_probabilities_with_all_zones() -> None:
    tpl = mni_template(3.0)
    total = tpl.gm + tpl.wm + tpl.csf
    assert total.max() <= 1.0 + 1e-3 and min(tpl.gm.min(), tpl.wm.min(), tpl.csf.min()) >= 0
    brain_ml = (total > 0.5).sum() * 27 / 1000
    assert 1100 < brain_ml < 2000  # an adult brain is ~1.2-1.6 litres (+CSF rim)
    assert set(np.unique(tpl.zones)) == {0, *ZONES}
    # periventricular zone lies next to the ventricles, deep WM further away
    assert np.median(tpl.vent_dist[tpl.zones == 1]) < np.median(tpl.vent_dist[tpl.zones == 4])


def test_outside_distance_is_zero_in_the_brain_and_grows_outwards() -> None:
    tpl = mni_template(1.0)
    brain = (tpl.gm + tpl.wm + tpl.csf) > 0.5
    assert not tpl.outside_mm[brain].any()
    shell = ndimage.binary_dilation(brain) & ~brain
    np.testing.assert_allclose(tpl.outside_mm[shell], 1.0, atol=0.5)
    far = ~ndimage.binary_dilation(brain, iterations=6)
    assert far.any() and np.all(tpl.outside_mm[far] == OUTSIDE_CAP_MM)
    # the coarse grids keep the distances in mm
    coarse = mni_template(3.0)
    assert coarse.outside_mm.max() == pytest.approx(OUTSIDE_CAP_MM, abs=0.1)


def test_ventricles_are_closed_csf_pools_not_fissures_open_to_the_outside() -> None:
    shape = (60, 60, 60)
    hull = np.zeros(shape, bool)
    hull[5:55, 5:55, 5:55] = True
    csf = np.zeros(shape, np.float32)
    csf[25:35, 25:35, 20:30] = 1.0  # a closed pool deep inside: a ventricle
    csf[28:31, 10:50, 33:55] = 1.0  # a deep cleft reaching the surface: a fissure
    depth = ndimage.distance_transform_edt(hull).astype(np.float32)
    ventricles = _lateral_ventricles(csf, hull, depth)
    assert ventricles[30, 30, 25] and ventricles[25:35, 25:35, 20:30].sum() > 300
    assert not ventricles[29, 30, 33:55].any()  # the fissure's deep part is not a ventricle
    # on the template: the two lateral ventricles, nothing on the midline above the corpus
    # callosum (interhemispheric fissure) or lateral to the insula (sylvian fissures)
    tpl = mni_template(1.0)
    vent = tpl.vent_dist <= 0.5
    x = np.abs(np.arange(182) - 90)  # |x| in mm (x = 0 mm is index 90)
    z = np.arange(182) - 72
    assert not vent[x > 36].any()
    assert not vent[:, :, z > 40].any()
    centre_mm = np.argwhere(vent).mean(0) - np.array([90, 126, 72])
    assert abs(centre_mm[0]) < 3 and -25 < centre_mm[1] < 0 and 0 < centre_mm[2] < 25


def test_sharpening_keeps_white_matter_stems_the_average_smeared() -> None:
    # two WM stems of the same shape: one as the average keeps most WM (peak 1.0), one smeared
    # to a peak of 0.65 (inferior temporal lobe); both should come out as WM cores
    x = np.arange(80, dtype=np.float32)
    profile = np.exp(-0.5 * ((x[:, None, None] % 40 - 20) / 4.0) ** 2) * np.ones((1, 20, 20))
    wm = (profile * np.where(x < 40, 1.0, 0.65)[:, None, None]).astype(np.float32)
    tissue = np.ones_like(wm)
    sharp = _sharpen_wm(wm, tissue)
    assert sharp[20, 10, 10] > 0.95 and sharp[60, 10, 10] > 0.95
    # the edge is still ~1 mm and in place where the peak was already 1
    assert sharp[10, 10, 10] < 0.05 and np.abs(np.diff(sharp[:40, 10, 10])).max() > 0.3
    assert np.all(sharp <= tissue)
    # a plain fixed threshold at 0.5 would have lost most of the smeared stem
    assert (sharp[40:, 10, 10] > 0.5).sum() > 1.5 * (wm[40:, 10, 10] > 0.5).sum()


def test_ellipsoid_volume_and_rim_alpha() -> None:
    grid = np.stack(np.meshgrid(*[np.arange(31, dtype=np.float32)] * 3, indexing="ij"), -1)
    radii = np.array([8.0, 5.0, 4.0])
    shape = ellipsoid_shape(
        grid, np.array([15.0, 15, 15]), radii, np.eye(3), 0.0, np.random.default_rng(0)
    )
    assert shape.sum() == pytest.approx(4 / 3 * np.pi * radii.prod(), rel=0.05)
    alpha = rim_alpha(shape, rim_vox=2.0)
    assert np.all((alpha > 0) == shape)
    assert alpha[shape].min() == pytest.approx(RIM_MIN_ALPHA) and alpha.max() == pytest.approx(1.0)


def test_add_lesions_lifts_partial_volume_voxels_above_white_matter() -> None:
    img = np.array([0.2, 0.9, 1.0, 1.2], dtype=np.float32)  # CSF-mixed, WM-ish, WM, GM
    alpha = np.full(4, RIM_MIN_ALPHA, dtype=np.float32)
    out = add_lesions(img.copy(), alpha, np.full(4, 1.4, dtype=np.float32))
    assert np.all(out > 1.0)


def test_fill_lesions_replaces_lesions_with_local_white_matter() -> None:
    rng = np.random.default_rng(0)
    image = np.full((30, 30, 30), 100.0, dtype=np.float32)
    image[:15] = 80.0  # two WM levels: the fill must follow the local one
    image += rng.normal(0, 1, image.shape).astype(np.float32)
    lesions = np.zeros(image.shape, bool)
    lesions[4:8, 12:16, 12:16] = lesions[22:26, 12:16, 12:16] = True
    image[lesions] = 160.0
    filled = fill_lesions(image, lesions, np.ones(image.shape, bool), rng)
    assert abs(np.median(filled[4:8, 12:16, 12:16]) - 80) < 4
    assert abs(np.median(filled[22:26, 12:16, 12:16]) - 100) < 4
    far = np.ones(image.shape, bool)
    far[2:10, 10:18, 10:18] = far[20:28, 10:18, 10:18] = False
    np.testing.assert_array_equal(filled[far], image[far])


def test_regional_nawm_variation_is_wm_only_and_keeps_lesions_brighter() -> None:
    tpl = mni_template(3.0)
    rng = np.random.default_rng(0)
    c = replace(Contrast.draw(rng), nawm_regional=0.12, nawm_random=0.08)  # the drawn maxima
    nawm = nawm_modulation(tpl.nawm, 3.0, c, rng)
    assert NAWM_RANGE[0] <= nawm.min() and nawm.max() <= NAWM_RANGE[1]
    brain = (tpl.gm + tpl.wm + tpl.csf) > 0.5
    flat = tissue_image(tpl.gm, tpl.wm, tpl.csf, tpl.caps, brain, c)
    varied = tissue_image(tpl.gm, tpl.wm, tpl.csf, tpl.caps, brain, c, nawm)
    pure_wm, no_wm = brain & (tpl.wm > 0.95), brain & (tpl.wm == 0)
    assert np.std(varied[pure_wm] / flat[pure_wm]) > 0.03  # regional variation is there
    np.testing.assert_array_equal(varied[no_wm], flat[no_wm])  # and only in white matter
    # the pattern: corticospinal tract (posterior limb of the internal capsule) > frontal WM
    inv = np.linalg.inv(tpl.affine)
    cst, frontal = (
        np.rint(inv @ (x, y, z, 1))[:3].astype(int) for x, y, z in ((-22, -15, 6), (-25, 40, 20))
    )
    assert tpl.nawm[tuple(cst)] > tpl.nawm[tuple(frontal)] + 0.5
    # the dimmest mask voxel (rim weight, dimmest core) still beats the brightest NAWM
    wm_img = varied[pure_wm]
    lifted = add_lesions(
        wm_img.copy(),
        np.full_like(wm_img, RIM_MIN_ALPHA),
        np.full_like(wm_img, MIN_LESION_CONTRAST),
    )
    assert np.all(lifted > wm_img) and lifted.min() > 1 + NAWM_RANGE[1]


def test_sulcal_lines_are_thin_gm_and_opening_conserves_tissue() -> None:
    tpl = mni_template(3.0)
    assert tpl.sulci.max() > 0.9
    lines = tpl.sulci > 0.5
    # between WM banks, not inside WM; a few percent of the brain, not the whole cortex
    assert np.median(tpl.wm[lines]) < 0.3
    assert 0.005 < lines.sum() / ((tpl.gm + tpl.wm) > 0.5).sum() < 0.15
    rng = np.random.default_rng(1)
    gm, csf = open_sulci(tpl.gm, tpl.csf, tpl.sulci, tpl.sulci_core, 3.0, 0.95, rng)
    assert gm.min() >= 0
    np.testing.assert_allclose(gm + csf, tpl.gm + tpl.csf, atol=1e-6)
    assert (csf - tpl.csf)[lines].mean() > 0.2  # the lines really open


def _line_slab(width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A flat sulcal line ``width`` voxels thick across X in the middle of a 24-voxel GM slab:
    (gm, csf, sulci), each (24, 16, 16) float32."""
    gm = np.ones((24, 16, 16), np.float32)
    sulci = np.zeros_like(gm)
    lo = 12 - width // 2
    sulci[lo : lo + width] = 1.0
    return gm, np.zeros_like(gm), sulci


@pytest.mark.parametrize("width", [3, 5, 7])
def test_the_sulcal_core_peaks_on_the_middle_of_a_line(width: int) -> None:
    gm, _, sulci = _line_slab(width)
    core = sulcal_core(sulci)[:, 8, 8]
    lo = 12 - width // 2
    profile = core[lo : lo + width]
    assert core[sulci[:, 8, 8] == 0].max() == 0  # nothing off the line
    assert profile[width // 2] == pytest.approx(1.0)
    assert profile[0] < 0.5 and profile[-1] < 0.5
    # rising to the middle, falling after it
    assert np.all(np.diff(profile[: width // 2 + 1]) > 0)
    assert np.all(np.diff(profile[width // 2 :]) < 0)


def test_a_sulcus_opens_from_its_middle_out_into_pure_csf(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mslesion.synth import atrophy

    # a uniform share (the regional field flat): the share is the case's sulci_open
    monkeypatch.setattr(atrophy, "smooth_field", lambda shape, *_a, **_k: np.zeros((1, *shape)))
    gm, csf, sulci = _line_slab(7)
    core = sulcal_core(sulci)
    profiles = []
    for share in (0.45, 0.65, 0.95):
        new_gm, new_csf = open_sulci(gm, csf, sulci, core, 1.0, share, np.random.default_rng(3))
        np.testing.assert_allclose(new_gm + new_csf, gm + csf, atol=1e-6)
        opened = new_csf[:, 8, 8]
        assert opened[12] == pytest.approx(1.0)  # the middle is pure CSF
        assert opened[8] == 0 and opened[16] == 0  # off the line, the banks stay cortex
        assert np.all(np.diff(opened[8:13]) >= 0) and np.all(np.diff(opened[12:17]) <= 0)
        profiles.append(opened)
    # a wider share opens the line further out from its middle, never less anywhere
    assert np.all(np.diff(profiles, axis=0) >= -1e-6)
    assert profiles[0][10] < 0.5 < profiles[2][10]
    _, shut = open_sulci(gm, csf, sulci, core, 1.0, 0.0, np.random.default_rng(3))
    assert shut.max() == 0  # a share of 0 leaves the line closed


def test_a_coarse_voxel_opens_by_the_share_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    from mslesion.synth import atrophy

    monkeypatch.setattr(atrophy, "smooth_field", lambda shape, *_a, **_k: np.zeros((1, *shape)))
    gm, csf, sulci = _line_slab(1)
    _, opened = open_sulci(gm, csf, sulci, sulcal_core(sulci), 3.0, 0.4, np.random.default_rng(3))
    np.testing.assert_allclose(opened[:, 8, 8], 0.4 * sulci[:, 8, 8], atol=1e-6)


def test_storing_a_template_prunes_the_older_cache_versions(tmp_path, monkeypatch) -> None:
    from mslesion.synth import anatomy

    tpl = mni_template(3.0)
    monkeypatch.setattr(anatomy, "default_cache_dir", lambda: tmp_path)
    stale = tmp_path / "synth_template_1mm_v1.npz"
    stale.write_bytes(b"x")
    anatomy._store_cached(tpl)
    assert not stale.exists()
    assert anatomy._cache_file(3.0).is_file()
    assert anatomy._load_cached(3.0) is not None
