"""Patch grid, lesion-aware indexing and sampling."""

from __future__ import annotations

import numpy as np
import pytest

from mslesion.data.sampling import (
    PatchIndex,
    axis_starts,
    extract_patch,
    grid_starts,
    index_patches,
    sample_patches,
)


@pytest.mark.parametrize(
    ("size", "patch", "stride"), [(182, 64, 32), (64, 64, 32), (100, 64, 32), (7, 4, 3)]
)
def test_grid_covers_every_voxel_and_stays_inside(size: int, patch: int, stride: int) -> None:
    starts = axis_starts(size, patch, stride)
    covered = np.zeros(size, dtype=bool)
    for s in starts:
        assert s >= 0 and s + patch <= size
        covered[s : s + patch] = True
    assert covered.all()
    assert all(b - a <= stride for a, b in zip(starts, starts[1:], strict=False))


def test_grid_of_a_volume_covers_it_in_3d() -> None:
    shape, patch = (40, 50, 33), (16, 16, 16)
    starts = grid_starts(shape, patch, (8, 8, 8))
    hits = np.zeros(shape, dtype=np.int32)
    for x, y, z in starts:
        hits[x : x + 16, y : y + 16, z : z + 16] += 1
    assert hits.min() >= 1
    assert starts.shape == (
        len(axis_starts(40, 16, 8)) * len(axis_starts(50, 16, 8)) * len(axis_starts(33, 16, 8)),
        3,
    )


def test_volume_smaller_than_patch_is_zero_padded() -> None:
    vol = np.arange(5 * 6 * 7, dtype=np.float32).reshape(5, 6, 7) + 1
    assert axis_starts(5, 8, 4) == [0]
    out = extract_patch(vol, (0, 0, 0), (8, 8, 8))
    assert out.shape == (8, 8, 8)
    np.testing.assert_array_equal(out[:5, :6, :7], vol)
    assert out[5:].sum() == 0 and out[:, 6:].sum() == 0


def _toy() -> tuple[np.ndarray, np.ndarray]:
    brain = np.zeros((48, 48, 48), dtype=np.uint8)
    brain[8:40, 8:40, 8:40] = 1
    mask = np.zeros_like(brain)
    mask[30:33, 30:33, 30:33] = 1
    return mask, brain


def test_index_sorts_patches_by_lesion_and_brain_content() -> None:
    mask, brain = _toy()
    ix = index_patches(mask, brain, (16, 16, 16), (8, 8, 8), min_brain_fraction=0.5)
    assert len(ix.positive) and len(ix.background)
    for x, y, z in ix.positive:
        assert mask[x : x + 16, y : y + 16, z : z + 16].sum() >= 1
    for x, y, z in ix.background:
        crop = brain[x : x + 16, y : y + 16, z : z + 16]
        assert mask[x : x + 16, y : y + 16, z : z + 16].sum() == 0
        assert crop.mean() >= 0.5  # inside the brain, not air
    # Exhaustive: every grid patch with lesion is listed as positive.
    n_pos = sum(
        mask[x : x + 16, y : y + 16, z : z + 16].any()
        for x, y, z in grid_starts(mask.shape, (16,) * 3, (8,) * 3)
    )
    assert len(ix.positive) == n_pos


@pytest.mark.parametrize("share", [0.0, 0.25, 0.5, 1.0])
def test_sampling_honours_the_positive_share(share: float) -> None:
    mask, brain = _toy()
    ix = index_patches(mask, brain, (16, 16, 16), (8, 8, 8))
    refs = sample_patches([ix, ix], 40, share, np.random.default_rng(1))
    assert len(refs) == 40
    assert sum(r.positive for r in refs) == round(40 * share)
    for r in refs:
        x, y, z = r.start
        assert bool(mask[x : x + 16, y : y + 16, z : z + 16].any()) == r.positive
    assert {r.volume for r in refs} <= {0, 1}


def test_sampling_falls_back_when_no_volume_has_lesions() -> None:
    bg_only = PatchIndex(
        positive=np.zeros((0, 3), dtype=np.int64), background=np.array([[0, 0, 0], [8, 0, 0]])
    )
    refs = sample_patches([bg_only], 10, 0.5, np.random.default_rng(0))
    assert not any(r.positive for r in refs) and len(refs) == 10
    with pytest.raises(ValueError):
        sample_patches([bg_only], 10, 1.5, np.random.default_rng(0))
