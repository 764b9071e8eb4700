"""Lesion table: ids, volumes in mm^3 on anisotropic grids, centroids, probabilities, locations."""

from __future__ import annotations

import csv
import io

import numpy as np

from mslesion.preprocess import templates
from mslesion.report.lesions import (
    LESION_COLUMNS,
    classify_location,
    lesion_csv_text,
    lesion_table,
    mni_region_lookup,
    summarize,
)


def _two_lesions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mask = np.zeros((20, 20, 10), dtype=np.uint8)
    mask[2:4, 2:4, 2:4] = 1  # 8 voxels
    mask[10:15, 10:13, 5:7] = 1  # 30 voxels
    prob = np.where(mask > 0, 0.7, 0.1).astype(np.float32)
    prob[12, 11, 6] = 0.95
    affine = np.diag([1.0, 1.0, 3.0, 1.0])  # 3 mm^3 voxels
    affine[:3, 3] = [-10, 20, 5]
    return mask, prob, affine


def test_rows_volumes_centroids_and_order() -> None:
    mask, prob, affine = _two_lesions()
    rows = lesion_table(mask, prob, affine)
    assert [r.lesion_id for r in rows] == [1, 2]
    big, small = rows
    assert big.n_voxels == 30 and big.volume_mm3 == 90.0
    assert small.n_voxels == 8 and small.volume_mm3 == 24.0
    assert (big.centroid_i, big.centroid_j, big.centroid_k) == (12.0, 11.0, 5.5)
    assert (big.centroid_x_mm, big.centroid_y_mm, big.centroid_z_mm) == (2.0, 31.0, 21.5)
    assert big.max_prob == 0.95 and small.max_prob == 0.7
    assert abs(big.mean_prob - (29 * 0.7 + 0.95) / 30) < 1e-3
    assert big.location == "unknown" and big.confidence is None
    assert summarize(rows) == {"lesion_count": 2, "total_volume_mm3": 114.0}


def test_csv_has_all_columns() -> None:
    mask, prob, affine = _two_lesions()
    text = lesion_csv_text(
        lesion_table(mask, prob, affine, confidence=lambda labels, n: np.full(n, 0.5))
    )
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == LESION_COLUMNS
    rows = list(reader)
    assert len(rows) == 2 and rows[0]["volume_mm3"] == "90.0" and rows[1]["confidence"] == "0.5"
    assert lesion_csv_text([]).strip() == ",".join(LESION_COLUMNS)


def test_location_priority() -> None:
    assert classify_location(np.array([4, 4, 2]), centroid_code=1) == "infratentorial"
    assert classify_location(np.array([4, 3, 2]), centroid_code=4) == "periventricular"
    assert classify_location(np.array([4, 3]), centroid_code=4) == "juxtacortical"
    assert classify_location(np.array([4, 4]), centroid_code=4) == "deep_white_matter"
    assert classify_location(np.array([0, 0]), centroid_code=0) == "unknown"


def test_mni_lookup_uses_the_registration() -> None:
    regions = templates.region_map()
    # a lesion at a periventricular MNI voxel, seen in a scan shifted by 10 mm in x
    ijk_mni = np.argwhere(regions == 2)[0]
    mni_mm = templates.MNI_AFFINE @ np.append(ijk_mni, 1.0)
    shift = np.eye(4)
    shift[0, 3] = 10.0  # model_to_native: native = MNI + 10 mm in x
    native_affine = np.eye(4)
    native_ijk = (np.linalg.inv(native_affine) @ shift @ mni_mm)[:3]
    lookup = mni_region_lookup(native_affine, shift)
    assert lookup(native_ijk[None])[0] == 2
    assert lookup(np.array([[1e4, 0, 0]]))[0] == 0  # outside the box
