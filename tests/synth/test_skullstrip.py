"""Tight and loose brain masks: the cut follows a hull over the tissue, never the tissue."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from synth_configs import SMALL

from mslesion.errors import ConfigError
from mslesion.synth import SynthConfig, generate_case
from mslesion.synth import skullstrip as ss


def _phantom() -> tuple[np.ndarray, np.ndarray]:
    """(image in units of WM, loose brain mask), 1 mm voxels: a tissue ball (radius 14) with a
    CSF cavity (a ventricle) and a 2-voxel-wide, 6 mm deep cleft (a sulcus), inside a 3 mm
    shell of CSF that the loose mask keeps."""
    zz, yy, xx = np.mgrid[:40, :40, :40] - 19.5
    r = np.sqrt(xx**2 + yy**2 + zz**2)
    image = np.where(r <= 14, 1.0, 0.1).astype(np.float32)
    image[r <= 4] = 0.1
    image[19:21, 19:21, 28:] = np.where(r[19:21, 19:21, 28:] <= 14, 0.1, image[19:21, 19:21, 28:])
    brain = r <= 17
    return image, brain


def test_tight_cut_drops_the_outer_csf_and_keeps_tissue_ventricles_and_sulci() -> None:
    image, brain = _phantom()
    tight = ss.tighten(image, brain, 2.0, 1.0)
    tissue = image >= ss.CSF_LEVEL
    assert not np.any(tissue & ~tight)
    assert not np.any(tight & ~brain)
    zz, yy, xx = np.mgrid[:40, :40, :40] - 19.5
    shell = brain & (np.sqrt(xx**2 + yy**2 + zz**2) > 15.0)  # a voxel clear of the tissue
    assert shell.sum() > 5000 and not np.any(tight & shell)
    cavity = image[15:25, 15:25, 15:25] < ss.CSF_LEVEL
    assert cavity.any() and tight[15:25, 15:25, 15:25][cavity].all()
    cleft = np.zeros_like(brain)
    cleft[19:21, 19:21, 28:] = True
    cleft &= (np.sqrt(xx**2 + yy**2 + zz**2) <= 14) & (image < ss.CSF_LEVEL)  # in the ball
    assert cleft.sum() >= 8 and tight[cleft].all()


def test_a_zero_radius_leaves_the_mask_as_it_is() -> None:
    image, brain = _phantom()
    assert ss.tighten(image, brain, 0.0, 1.0) is brain


def test_the_styles_draw_as_configured() -> None:
    seeds = range(200)
    mixed = [ss.cut_radius_mm(s, "mixed") for s in seeds]
    tight = [ss.cut_radius_mm(s, "tight") for s in seeds]
    assert all(ss.cut_radius_mm(s, "loose") == 0.0 for s in seeds)
    low, high = ss.TIGHT_RADIUS_MM
    assert all(low <= r <= high for r in tight)
    # "mixed" cuts a share of the seeds, each with the radius "tight" gives it
    assert all(m in (0.0, t) for m, t in zip(mixed, tight, strict=True))
    share = float(np.mean([m > 0 for m in mixed]))
    assert abs(share - ss.TIGHT_SHARE) < 0.1


def test_the_outer_csf_rim_lies_outside_the_brain_and_grows_with_its_width() -> None:
    _, brain = _phantom()
    outside = ndimage.distance_transform_edt(~brain).astype(np.float32)
    assert not ss.outer_csf(outside, 0.0).any()  # nothing beyond the template's own rim
    one, two = ss.outer_csf(outside, 1.0), ss.outer_csf(outside, 2.0)
    assert not one[brain].any() and not two[brain].any()
    shell = ndimage.binary_dilation(brain) & ~brain  # the first voxels outside
    assert np.all(one[shell] == 1.0) and np.all(two >= one)
    assert one.sum() > shell.sum() and two.sum() > one.sum() + shell.sum()
    assert not two[outside > 3.0].any()


def test_the_rim_is_drawn_for_loose_masks_only_and_leaves_the_cut_as_it_was() -> None:
    seeds = range(200)
    loose = [ss.loose_rim_mm(s, "loose") for s in seeds]
    low, high = ss.LOOSE_RIM_MM
    assert all(low <= r <= high for r in loose) and np.std(loose) > 0.2 * (high - low)
    assert all(ss.loose_rim_mm(s, "tight") == 0.0 for s in seeds)
    for s, rim in zip(seeds, loose, strict=True):
        cut = ss.cut_radius_mm(s, "mixed")
        assert ss.loose_rim_mm(s, "mixed") == (0.0 if cut > 0 else rim)


def test_a_wider_loose_rim_adds_only_dark_voxels_round_the_same_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = SynthConfig(voxel_size_mm=3.0, brain_mask="loose", snr=None)
    monkeypatch.setattr(ss, "LOOSE_RIM_MM", (0.0, 0.0))
    narrow = generate_case(4, config)
    monkeypatch.setattr(ss, "LOOSE_RIM_MM", (3.0, 3.0))
    wide = generate_case(4, config)
    np.testing.assert_array_equal(wide.lesion_mask, narrow.lesion_mask)
    inside, added = narrow.brain_mask > 0, (wide.brain_mask > 0) & (narrow.brain_mask == 0)
    assert not np.any(inside & (wide.brain_mask == 0))
    assert added.sum() > 0.05 * inside.sum()
    wm = np.median(narrow.flair[inside])
    assert np.median(wide.flair[added]) < 0.5 * wm


def test_a_tight_case_is_the_loose_case_without_its_outer_csf() -> None:
    loose = generate_case(3, SynthConfig(voxel_size_mm=3.0, brain_mask="loose"))
    tight = generate_case(3, SynthConfig(voxel_size_mm=3.0, brain_mask="tight"))
    assert (loose.brain_mask_style, tight.brain_mask_style) == ("loose", "tight")
    np.testing.assert_array_equal(tight.lesion_mask, loose.lesion_mask)
    inside = tight.brain_mask > 0
    assert not np.any(inside & (loose.brain_mask == 0))
    assert inside.sum() < 0.99 * (loose.brain_mask > 0).sum()
    assert not np.any(tight.flair[~inside])

    def edge_dark_share(case) -> float:  # noqa: ANN001 (a SynthCase)
        brain = case.brain_mask > 0
        edge = brain & ~ndimage.binary_erosion(brain)
        wm = np.median(case.flair[brain])
        return float(np.mean(case.flair[edge] < 0.5 * wm))

    assert edge_dark_share(tight) < edge_dark_share(loose) - 0.1


def test_the_default_mixes_both_styles_and_bad_styles_are_refused() -> None:
    styles = {generate_case(s, SMALL).brain_mask_style for s in range(6)}
    assert styles == {"loose", "tight"}
    with pytest.raises(ConfigError, match="brain_mask"):
        SynthConfig(brain_mask="snug")  # type: ignore[arg-type]
