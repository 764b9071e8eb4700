"""Spatial steps: each maps world positions correctly and inverts exactly where it should."""

from __future__ import annotations

import numpy as np
import pytest

from mslesion.preprocess.spatial import (
    CropRecord,
    ReorientRecord,
    ResampleRecord,
    axcodes_of,
    bounding_box,
    crop_to_mask,
    crop_to_shape,
    reorient_to_ras,
    resample_onto,
    resample_to_spacing,
    target_grid,
)


def _world_of(index: np.ndarray, affine: np.ndarray) -> np.ndarray:
    return (affine @ np.append(index, 1.0))[:3]


def _centroid_mm(mask: np.ndarray, affine: np.ndarray) -> np.ndarray:
    return _world_of(np.argwhere(mask).mean(axis=0), affine)


AFFINES = {
    "LAS": np.array([[-1.0, 0, 0, 90], [0, 1, 0, -126], [0, 0, 1, -72], [0, 0, 0, 1]]),
    "LPI": np.array([[-0.9, 0, 0, 50], [0, -1.1, 0, 60], [0, 0, -2.0, 40], [0, 0, 0, 1]]),
    "permuted": np.array([[0, 0, 1.5, -30], [-1.0, 0, 0, 20], [0, 1.2, 0, -10], [0, 0, 0, 1]]),
}


@pytest.mark.parametrize("name", sorted(AFFINES))
def test_reorient_to_ras_is_exact_and_keeps_world_positions(
    name: str, rng: np.random.Generator
) -> None:
    affine = AFFINES[name]
    data = rng.random((5, 6, 7)).astype(np.float32)
    out, new_affine, record = reorient_to_ras(data, affine)
    assert axcodes_of(new_affine) == "RAS"
    assert axcodes_of(affine) != "RAS"
    np.testing.assert_array_equal(record.invert(out), data)
    # The brightest voxel sits at the same world position before and after.
    i_old = np.array(np.unravel_index(np.argmax(data), data.shape), dtype=float)
    i_new = np.array(np.unravel_index(np.argmax(out), out.shape), dtype=float)
    np.testing.assert_allclose(_world_of(i_old, affine), _world_of(i_new, new_affine), atol=1e-6)
    again = ReorientRecord.from_dict(record.to_dict())
    np.testing.assert_array_equal(again.apply(data), out)


def test_target_grid_keeps_field_of_view() -> None:
    affine = np.diag([1.0, 1.0, 3.0, 1.0])
    shape, new = target_grid((10, 12, 5), affine, (1.0, 1.0, 1.0))
    assert shape == (10, 12, 15)
    # Outer corners of the field of view coincide (voxel -0.5 in both grids).
    np.testing.assert_allclose(
        _world_of(np.full(3, -0.5), affine), _world_of(np.full(3, -0.5), new)
    )
    np.testing.assert_allclose(np.diag(new)[:3], [1.0, 1.0, 1.0])


def test_nearest_resampling_round_trip_is_lossless_for_integer_ratio(
    rng: np.random.Generator,
) -> None:
    mask = (rng.random((9, 8, 6)) > 0.7).astype(np.uint8)
    affine = np.array([[-1.0, 0, 0, 5], [0, 1, 0, 0], [0, 0, 3.0, -2], [0, 0, 0, 1]])
    up, _, record = resample_to_spacing(mask, affine, (1.0, 1.0, 1.0), "nearest")
    assert up.shape == (9, 8, 18) and up.dtype == np.uint8
    assert up.sum() == 3 * mask.sum()
    np.testing.assert_array_equal(record.invert(up, is_mask=True), mask)


def test_resampling_keeps_blob_position_and_constant_values() -> None:
    shape = (30, 30, 12)
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1)
    blob = (((grid - [14.0, 16.0, 6.0]) / [5.0, 5.0, 2.0]) ** 2).sum(-1) <= 1
    affine = np.array([[0.9, 0, 0, -10], [0, 0.9, 0, 4], [0, 0, 2.5, 7], [0, 0, 0, 1]])
    out, new_affine, _ = resample_to_spacing(blob.astype(np.float32), affine, (1.0, 1.0, 1.0))
    np.testing.assert_allclose(
        _centroid_mm(out > 0.5, new_affine), _centroid_mm(blob, affine), atol=0.5
    )
    const, _, _ = resample_to_spacing(
        np.full(shape, 7.0, np.float32), affine, (1.3, 1.3, 1.3), "bspline"
    )
    interior = const[2:-2, 2:-2, 2:-2]
    np.testing.assert_allclose(interior, 7.0, atol=1e-3)


def test_resample_record_serialises_and_rejects_unknown_interpolator() -> None:
    _, _, record = resample_to_spacing(np.ones((4, 4, 4), np.float32), np.eye(4), (2.0, 2.0, 2.0))
    assert ResampleRecord.from_dict(record.to_dict()) == record
    with pytest.raises(ValueError, match="unknown interpolation"):
        resample_onto(np.ones((4, 4, 4)), np.eye(4), (4, 4, 4), np.eye(4), "cubic")


def test_bounding_box_and_crop_to_mask() -> None:
    mask = np.zeros((20, 20, 20), np.uint8)
    mask[5:9, 10:12, 3:4] = 1
    assert bounding_box(mask) == ((5, 10, 3), (9, 12, 4))
    record = crop_to_mask(mask, margin=4)
    assert record.start == (1, 6, 0) and record.out_shape == (12, 10, 8)
    with pytest.raises(ValueError, match="empty"):
        bounding_box(np.zeros((3, 3, 3)))


def test_crop_and_pad_invert_and_shift_affine(rng: np.random.Generator) -> None:
    data = rng.random((10, 12, 8)).astype(np.float32) + 1
    record = crop_to_shape((10, 12, 8), (16, 6, 8))  # pad X, crop Y
    out = record.apply(data)
    assert out.shape == (16, 6, 8)
    assert record.start[0] < 0 and (out == 0).any()
    back = record.invert(out)
    kept = np.zeros(data.shape, bool)
    kept[:, record.start[1] : record.start[1] + 6, :] = True
    np.testing.assert_array_equal(back[kept], data[kept])
    assert not back[~kept].any()
    # A voxel keeps its world position through the crop's affine.
    affine = np.diag([1.0, 2.0, 3.0, 1.0])
    new = record.affine_after(affine)
    idx = np.array([3, 4, 5])
    np.testing.assert_allclose(_world_of(idx - np.array(record.start), new), _world_of(idx, affine))
    assert CropRecord.from_dict(record.to_dict()) == record


def test_fixed_crop_stays_inside_when_it_fits() -> None:
    mask = np.zeros((40, 40, 40), np.uint8)
    mask[0:5, 0:5, 0:5] = 1  # brain in a corner: the box must not run off the volume
    record = crop_to_shape((40, 40, 40), (20, 20, 20), mask)
    assert record.start == (0, 0, 0)
