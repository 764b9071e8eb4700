"""Registration to MNI152: geometry conversions, pass-through detection, voxel maps."""

from __future__ import annotations

import nibabel as nib
import numpy as np

from mslesion.io.nifti import NiftiVolume
from mslesion.preprocess import templates
from mslesion.preprocess.register import (
    is_mni_skullstripped,
    register_to_template,
    resample_voxels,
    to_sitk,
    voxel_map,
)


def _vol(data: np.ndarray, affine: np.ndarray) -> NiftiVolume:
    return NiftiVolume(data.astype(np.float32), affine, nib.Nifti1Header())


def _mni_brain() -> np.ndarray:
    data = np.zeros(templates.MNI_SHAPE, dtype=np.float32)
    data[40:140, 40:180, 30:150] = 100.0
    return data


def test_passthrough_detection() -> None:
    assert is_mni_skullstripped(_vol(_mni_brain(), templates.MNI_AFFINE))
    # a few non-zero border voxels (as in MSLesSeg P14 T1) still count as skull-stripped
    speckled = _mni_brain()
    speckled[0, 100:110, 50:60] = 270.0
    assert is_mni_skullstripped(_vol(speckled, templates.MNI_AFFINE))
    # skull-on: noisy non-zero air everywhere
    noisy = _mni_brain() + np.random.default_rng(0).random(templates.MNI_SHAPE).astype(np.float32)
    assert not is_mni_skullstripped(_vol(noisy, templates.MNI_AFFINE))
    shifted = templates.MNI_AFFINE.copy()
    shifted[0, 3] += 4
    assert not is_mni_skullstripped(_vol(_mni_brain(), shifted))
    assert not is_mni_skullstripped(_vol(np.ones((20, 20, 20)), np.eye(4)))


def test_real_mni_scans_pass_through(shared_data) -> None:
    from mslesion.io.nifti import load_volume

    flairs = sorted((shared_data / "real").rglob("*FLAIR*.nii.gz"))
    flairs = [f for f in flairs if "GOLD" not in f.name][:4]
    assert flairs
    for path in flairs:
        assert is_mni_skullstripped(load_volume(path)), path.name


def test_mni_input_is_passed_straight_through() -> None:
    result = register_to_template(_vol(_mni_brain(), templates.MNI_AFFINE))
    assert result.passthrough
    np.testing.assert_array_equal(result.model_to_native, np.eye(4))


def test_to_sitk_matches_nibabel_world_coordinates() -> None:
    affine = np.array(
        [[0.0, 0.0, -2.0, 30.0], [-1.5, 0.0, 0.0, 20.0], [0.0, 3.0, 0.0, -40.0], [0, 0, 0, 1]]
    )
    img = to_sitk(np.zeros((5, 6, 7)), affine)
    for ijk in [(0, 0, 0), (4, 1, 6), (2, 5, 3)]:
        lps = np.array(img.TransformIndexToPhysicalPoint([int(v) for v in ijk]))
        ras = affine[:3, :3] @ np.array(ijk) + affine[:3, 3]
        np.testing.assert_allclose(lps, ras * [-1, -1, 1], atol=1e-6)
    assert img.GetSize() == (5, 6, 7)


def test_resample_voxels_shift_and_identity() -> None:
    data = np.random.default_rng(0).random((8, 9, 10)).astype(np.float32)
    np.testing.assert_allclose(resample_voxels(data, np.eye(4), data.shape), data, atol=1e-6)
    shift = np.eye(4)
    shift[:3, 3] = [1, 2, 3]  # out[i] = data[i + (1, 2, 3)]
    out = resample_voxels(data, shift, (7, 7, 7), order=0)
    np.testing.assert_allclose(out[:6, :6, :6], data[1:7, 2:8, 3:9])
    assert out[7 - 1, 0, 0] == data[7, 2, 3]


def test_voxel_map_composes_grid_transform_and_native() -> None:
    grid_aff = np.diag([2.0, 2.0, 2.0, 1.0])
    native_aff = np.diag([1.0, 1.0, 4.0, 1.0])
    native_aff[:3, 3] = [10, 0, 0]
    m2n = np.eye(4)
    m2n[:3, 3] = [5, 0, 8]
    vm = voxel_map(grid_aff, m2n, native_aff)
    # model voxel (1, 1, 1) -> MNI (2, 2, 2) -> native world (7, 2, 10) -> native voxel (-3, 2, 2.5)
    np.testing.assert_allclose(vm @ [1, 1, 1, 1], [-3, 2, 2.5, 1])


# Recovery of a known rotated/shifted/anisotropic pose is checked in
# tests/infer/test_predictor.py::test_registration_recovers_phantom_pose (shares its registration).
