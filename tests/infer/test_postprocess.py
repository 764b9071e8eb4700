from __future__ import annotations

import numpy as np
import pytest

from mslesion.infer.postprocess import PostprocessConfig, binarize, min_size_voxels


def test_min_size_is_in_mm3_for_anisotropic_voxels() -> None:
    # 3 mm^3 voxels: 10 mm^3 needs 4 voxels
    assert min_size_voxels(10.0, 3.0) == 4
    assert min_size_voxels(9.0, 3.0) == 3
    assert min_size_voxels(0.0, 3.0) == 0


def test_binarize_threshold_size_and_holes() -> None:
    prob = np.zeros((20, 20, 20), dtype=np.float32)
    prob[2:7, 2:7, 2:7] = 0.9  # 125-voxel lesion
    prob[4, 4, 4] = 0.1  # enclosed hole
    prob[15, 15, 15] = 0.95  # 1-voxel speck
    prob[10:12, 10, 10] = 0.4  # below threshold
    mask = binarize(
        prob, voxel_volume_mm3=2.0, config=PostprocessConfig(threshold=0.5, min_lesion_size_mm3=4.0)
    )
    assert mask.dtype == np.uint8
    assert mask[4, 4, 4] == 1  # hole filled
    assert mask[15, 15, 15] == 0  # 2 mm^3 < 4 mm^3 removed
    assert mask[10, 10, 10] == 0
    assert int(mask.sum()) == 125
    kept = binarize(
        prob,
        voxel_volume_mm3=2.0,
        config=PostprocessConfig(min_lesion_size_mm3=2.0, fill_holes=False),
    )
    assert kept[15, 15, 15] == 1 and kept[4, 4, 4] == 0


def test_bad_threshold_rejected() -> None:
    with pytest.raises(ValueError):
        binarize(np.zeros((3, 3, 3)), 1.0, PostprocessConfig(threshold=1.5))
