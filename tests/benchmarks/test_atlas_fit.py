"""The realism benchmark's atlas fit (``benchmarks/atlas_fit.py``) on ellipsoid phantoms."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

# the benchmark scripts are not a package: import the module from its folder (a plain import,
# so that a broken module fails here instead of skipping)
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import atlas_fit  # noqa: E402

SHAPE = (64, 72, 60)


def ellipsoid(centre: tuple[float, ...], semi: tuple[float, ...]) -> np.ndarray:
    grid = np.indices(SHAPE, dtype=np.float32)
    r2 = sum(((g - c) / s) ** 2 for g, c, s in zip(grid, centre, semi, strict=True))
    return r2 <= 1.0


ATLAS_CENTRE, ATLAS_SEMI = (32.0, 36.0, 30.0), (22.0, 26.0, 20.0)
SCAN_SCALE, SCAN_CENTRE = 0.85, (34.0, 33.0, 31.0)


def scan_like(region_centre: tuple[float, ...], semi: tuple[float, ...]) -> np.ndarray:
    """An atlas region as it lies in the smaller, shifted scan brain."""
    moved = [
        sc + SCAN_SCALE * (c - ac)
        for c, ac, sc in zip(region_centre, ATLAS_CENTRE, SCAN_CENTRE, strict=True)
    ]
    return ellipsoid(tuple(moved), tuple(SCAN_SCALE * s for s in semi))


def test_fit_lays_the_atlas_over_a_smaller_shifted_brain() -> None:
    atlas_brain = ellipsoid(ATLAS_CENTRE, ATLAS_SEMI)
    scan_brain = scan_like(ATLAS_CENTRE, ATLAS_SEMI)
    transform = atlas_fit.fit_atlas(scan_brain, atlas_brain)
    info = atlas_fit.fit_summary(scan_brain, atlas_brain, transform)
    assert info["fit_dice_before"] < 0.8
    assert info["fit_dice_after"] > 0.95
    assert info["fit_scale"] == pytest.approx(SCAN_SCALE, abs=0.03)

    # an inner region (a "ventricle" off the centre) follows the brain
    inner_centre, inner_semi = (16.0, 50.0, 30.0), (5.0, 6.0, 5.0)
    region = ellipsoid(inner_centre, inner_semi)
    warped = atlas_fit.warp_regions({"inner": region}, transform)["inner"]
    expected = scan_like(inner_centre, inner_semi)
    assert atlas_fit.dice(warped, expected) > 0.8
    assert atlas_fit.dice(region, expected) < 0.5


def test_mean_transform_averages_the_fits_matrices() -> None:
    atlas_brain = ellipsoid(ATLAS_CENTRE, ATLAS_SEMI)
    fits = [
        atlas_fit.fit_atlas(atlas_brain, atlas_brain),
        atlas_fit.fit_atlas(scan_like(ATLAS_CENTRE, ATLAS_SEMI), atlas_brain),
    ]
    mean = atlas_fit.mean_transform(fits)
    point = np.array([20.0, 40.0, 25.0])
    each = [atlas_fit.affine_matrix(t) @ np.r_[point, 1.0] for t in fits]
    assert np.allclose(mean.TransformPoint(tuple(point)), np.mean(each, axis=0)[:3], atol=1e-6)
    # the first fit (the atlas onto itself) is about the identity and the second is not, so
    # the mean above is a true average of two different maps
    assert not np.allclose(each[0], each[1], atol=1.0)
    assert np.allclose(each[0][:3], point, atol=0.5)
