"""Deep grey nuclei: where they are, and how FLAIR renders them (dimmer than the cortex, the
pallidum darker than the WM)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mslesion.synth.anatomy import mni_template
from mslesion.synth.deep_grey import NUCLEI_MM, deep_grey_weights, ellipsoid_radius
from mslesion.synth.flair import (
    DEEP_GREY_DIM_2D,
    DEEP_GREY_DIM_3D,
    GM_2D,
    GM_3D,
    PALLIDUM_DARK,
    Contrast,
    tissue_image,
)
from mslesion.synth.normal import mm_grid

# MNI mm points (x, y, z) in each nucleus (both hemispheres) and in tissue none of them holds
INSIDE = {
    "left thalamus": (11, -17, 7),
    "right thalamus": (-10, -20, 10),
    "caudate head": (-12, 13, 8),
    "putamen": (26, 5, 0),
    "pallidum": (-18, -4, -1),
}
OUTSIDE = {
    "insular cortex": (38, 0, 5),
    "hippocampus": (28, -22, -14),
    "anterior cingulate": (5, 32, 20),
    "posterior cingulate": (5, -45, 28),
    "deep WM": (25, -30, 30),
    "midbrain": (0, -26, -10),
}


def _full(weights: np.ndarray, box: tuple[slice, ...], shape: tuple[int, ...]) -> np.ndarray:
    out = np.zeros(shape, np.float32)
    out[box] = weights
    return out


def _voxel(affine: np.ndarray, xyz: tuple[int, int, int]) -> tuple[int, ...]:
    return tuple(np.rint(np.linalg.inv(affine) @ (*xyz, 1))[:3].astype(int))


@pytest.mark.parametrize("voxel_size_mm", [1.0, 3.0])
def test_nuclei_weights_cover_the_deep_grey_nuclei_only(voxel_size_mm: float) -> None:
    tpl = mni_template(voxel_size_mm)
    deep = deep_grey_weights(tpl.shape, tpl.affine)
    grey = _full(deep.grey, deep.box, tpl.shape)
    pallidum = _full(deep.pallidum, deep.box, tpl.shape)
    for name, xyz in INSIDE.items():
        assert grey[_voxel(tpl.affine, xyz)] >= 0.65, name  # (the putamen takes 0.7)
    assert pallidum[_voxel(tpl.affine, INSIDE["pallidum"])] > 0.9
    assert pallidum[_voxel(tpl.affine, INSIDE["left thalamus"])] == 0
    for name, xyz in OUTSIDE.items():
        assert grey[_voxel(tpl.affine, xyz)] == 0, name
    # the box holds every nucleus whole: nothing is cut at its faces
    for axis in range(3):
        assert not np.take(deep.grey, [0, -1], axis=axis).any(), axis
    # and the weights are what the ellipsoids give on the full grid (the box's origin is right)
    x, y, z = mm_grid(tpl.shape, tpl.affine)
    centre, semi_axes, yaw, share = NUCLEI_MM["thalamus"]
    core = ellipsoid_radius(x, y, z, centre, semi_axes, yaw) < 0.8
    np.testing.assert_allclose(grey[core], share)


def test_deep_nuclei_render_between_wm_and_cortex_and_the_pallidum_darker_than_wm() -> None:
    tpl = mni_template(1.0)
    brain = (tpl.gm + tpl.wm + tpl.csf) > 0.5
    deep = deep_grey_weights(tpl.shape, tpl.affine)
    x, y, z = mm_grid(tpl.shape, tpl.affine)
    cores = {
        name: (ellipsoid_radius(x, y, z, c, s, yaw) < 0.6) & brain
        for name, (c, s, yaw, _) in NUCLEI_MM.items()
    }
    cortex = (tpl.gm > 0.9) & (tpl.pial_mm < 3)
    base = replace(Contrast.draw(np.random.default_rng(0)), cap_gain=0.0)
    # each acquisition's dimming over its own cortex level (the middle of its range), at both
    # ends of the drawn ranges
    ends = [
        (float(np.mean(gm)), dim, dark)
        for gm, dims in ((GM_2D, DEEP_GREY_DIM_2D), (GM_3D, DEEP_GREY_DIM_3D))
        for dim, dark in zip(dims, PALLIDUM_DARK, strict=True)
    ]
    for gm, dim, dark in ends:
        c = replace(base, gm=gm, deep_grey_dim=dim, pallidum_dark=dark)
        before = tissue_image(tpl.gm, tpl.wm, tpl.csf, tpl.caps, brain, c)
        after = tissue_image(tpl.gm, tpl.wm, tpl.csf, tpl.caps, brain, c, deep=deep)
        assert np.median(before[cortex]) > gm - 0.05
        # between the WM and the cortex, well below what they read at the cortex's level:
        # noise-free, 2D nuclei (cortex 1.59) read thalamus 1.13-1.25, caudate 1.26-1.41,
        # putamen 1.24-1.34, 3D ones (1.285) 1.01-1.06, 1.05-1.13, 1.07-1.12 (undimmed
        # 1.38 / 1.58 / 1.45, 1.19 / 1.28 / 1.22); whole undeformed 2D cases, acquired and
        # measured against their own NAWM, read 1.06 / 1.15 / 1.12 (``flair.DEEP_GREY_DIM_2D``)
        for name in ("thalamus", "caudate head", "putamen"):
            level = float(np.median(after[cores[name]]))
            assert 1.0 < level < gm - 0.1, (name, gm, dim, level)
            assert level < float(np.median(before[cores[name]])) - 0.08, name
        pallidum = float(np.median(after[cores["pallidum"]]))
        assert 0.7 < pallidum < 0.95, (dim, pallidum)
        # nothing changes outside the nuclei
        untouched = _full(deep.grey, deep.box, tpl.shape) == 0
        np.testing.assert_array_equal(after[untouched], before[untouched])
