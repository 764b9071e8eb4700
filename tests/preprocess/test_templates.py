"""Template grids and McDonald regions derived from nilearn's maps, checked against the atlas."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from mslesion.preprocess import templates


def test_model_grid_keeps_the_box() -> None:
    g1, g2 = templates.model_grid(1.0), templates.model_grid(2.0)
    assert g1.shape == (182, 218, 182) and g2.shape == (91, 109, 91)
    # the first voxel's outer corner is the same physical point at both spacings
    corner1 = g1.affine @ [-0.5, -0.5, -0.5, 1]
    corner2 = g2.affine @ [-0.5, -0.5, -0.5, 1]
    np.testing.assert_allclose(corner1, corner2)
    assert g2.spacing == (2.0, 2.0, 2.0)


def test_template_resampling_fast_path_matches_interpolation() -> None:
    data, affine = templates.load_template_map("wm")
    grid = templates.model_grid(1.0)
    fast = templates.resample_to_grid(data, affine, grid)
    from scipy import ndimage

    # interpolate only a 40^3 block in the middle (the full grid takes seconds)
    start = np.array([70, 90, 70])
    vox = np.linalg.inv(affine) @ grid.affine
    offset = vox[:3, 3] + vox[:3, :3] @ start
    slow = ndimage.affine_transform(data, vox[:3, :3], offset, output_shape=(40, 40, 40), order=1)
    np.testing.assert_allclose(fast[70:110, 90:130, 70:110], slow, atol=1e-5)
    assert slow.max() > 0.5  # the block holds white matter


def _atlas(shared_data, name: str) -> np.ndarray:
    img = nib.load(str(shared_data / "atlas" / "MNI152_1mm" / f"{name}.nii.gz"))
    assert img.shape == templates.MNI_SHAPE and np.allclose(img.affine, templates.MNI_AFFINE)
    return np.asanyarray(img.dataobj) > 0


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())


@pytest.mark.real_data
def test_derived_regions_agree_with_atlas(shared_data) -> None:
    regions = templates.region_map()
    brain = _atlas(shared_data, "MNI152_T1_1mm_brain")
    assert _dice(templates.brain_mask_on_grid(), brain) > 0.9
    assert _dice(regions == 2, _atlas(shared_data, "MNI_1mm_Ventricules_Dilated")) > 0.6
    assert _dice(regions == 1, _atlas(shared_data, "MNI_1mm_Infratentorial")) > 0.6
    # the atlas' juxtacortical band is wider than "touching cortex": most of ours lies inside it
    juxta = _atlas(shared_data, "MNI_1mm_JuxtaCorticalWhiteMatter")
    ours = regions == 3
    assert (ours & juxta).sum() / ours.sum() > 0.45
    assert set(np.unique(regions)) == {0, 1, 2, 3, 4}


def test_old_cache_versions_are_pruned_and_newer_ones_kept(tmp_path) -> None:
    names = [
        "synth_template_1mm_v21.npz",  # older: removed
        "synth_template_2mm_v22.npz",  # older, another grid: removed
        "synth_template_1mm_v23.npz",  # current: kept
        "synth_template_1mm_v24.npz",  # a newer install's: kept
        "mcdonald_regions_v1.npz",  # another cache: not this prefix
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    removed = templates.prune_old_versions(tmp_path, "synth_template_", 23)
    assert sorted(p.name for p in removed) == names[:2]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])
