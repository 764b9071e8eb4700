"""The per-sample deformation: the hemispheres slide along the falx, nothing else tears."""

from __future__ import annotations

import numpy as np

from mslesion.synth.fields import hemisphere_offsets, random_sampling_grid

SHAPE = (40, 48, 36)
MIDLINE_X = 19.5  # between voxels 19 and 20


def _grid(weight: np.ndarray | None) -> np.ndarray:
    shear = None if weight is None else (MIDLINE_X, weight)
    sampling = random_sampling_grid(
        SHAPE, 2.0, np.random.default_rng(3), np.array([20.0, 24.0, 18.0], np.float32), True, shear
    )
    return sampling[...]


def test_hemispheres_slide_in_opposite_directions_along_the_midline_only() -> None:
    plain = _grid(None)
    # where nothing may tear (weight 0) the deformation is exactly the one without the slide
    np.testing.assert_array_equal(_grid(np.zeros(SHAPE[1:], np.float32)), plain)
    slid = _grid(np.ones(SHAPE[1:], np.float32)) - plain  # (X, Y, Z, 3) voxels
    assert np.abs(slid[..., 0]).max() == 0  # along the falx: no left-right component
    left, right = slid[:12, ..., 1:], slid[-12:, ..., 1:]  # > 1 lattice cell off the midline
    assert np.abs(left).mean() > 0.3  # ~1.25 voxels std at 2 mm (2.5 mm)
    # the two sides move by the same field with opposite signs
    np.testing.assert_allclose(left.mean(0), -right.mean(0), atol=0.05 * np.abs(left).max())


def test_hemisphere_offsets_follow_the_weight_map() -> None:
    pts = np.stack(
        np.meshgrid(*[np.arange(s, dtype=np.float32) for s in (9, 8, 7)], indexing="ij"), -1
    )
    weight = np.zeros((8, 7), np.float32)
    weight[:4] = 1.0  # only the front half of the midline is fissure
    out = hemisphere_offsets(pts, 1.0, 1.0, 4.0, weight, np.random.default_rng(0))
    assert out.shape == pts.shape and out.dtype == np.float32
    assert np.abs(out[:, 4:]).max() == 0  # weight 0: nothing moves
    assert np.abs(out[:, :4]).max() > 0.5
    assert np.abs(out[4]).max() < 1e-6  # on the midline itself, neither side
