"""The per-sample deformation (the hemispheres slide along the falx, nothing else tears) and the
numeric helpers under it (upsampling, label warps)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mslesion.synth import fields
from mslesion.synth.fields import (
    SamplingGrid,
    hemisphere_offsets,
    midline_bend_offsets,
    random_sampling_grid,
    upsample_linear,
    warp_nearest,
)

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


def test_the_midline_bends_both_hemispheres_alike_and_fades_away_from_it() -> None:
    # round 36: the 3D cases' fissure was ruler-straight over a 32 mm patch
    pts = np.stack(
        np.meshgrid(*[np.arange(s, dtype=np.float32) for s in (41, 30, 30)], indexing="ij"), -1
    )
    out = midline_bend_offsets(pts, 1.0, 1.0, 20.0, np.random.default_rng(0))
    assert out.shape == pts.shape and out.dtype == np.float32
    assert np.abs(out[..., 1:]).max() == 0  # sideways only
    bend = out[..., 0]
    assert bend[20].std() > 0.3  # it varies along the midline (std ~1.2 mm before the fade)
    np.testing.assert_allclose(bend[15], bend[25], atol=1e-6)  # both sides alike: nothing tears
    fade = float(np.exp(-0.5 * (20.0 / fields.MIDLINE_BEND_MM[2]) ** 2))
    np.testing.assert_allclose(bend[0], bend[20] * fade, atol=1e-5)


def test_a_bend_stream_changes_only_the_sideways_sampling_near_the_midline() -> None:
    centre = np.array([20.0, 24.0, 18.0], np.float32)
    shear = (MIDLINE_X, np.ones(SHAPE[1:], np.float32))

    def grid(bend: np.random.Generator | None) -> np.ndarray:
        rng = np.random.default_rng(3)
        return random_sampling_grid(SHAPE, 2.0, rng, centre, True, shear, bend_rng=bend)[...]

    bent = grid(np.random.default_rng(9)) - grid(None)  # (X, Y, Z, 3): the same other draws
    assert np.abs(bent[..., 1:]).max() < 1e-5  # the bend stream moves no other draw
    assert np.abs(bent[19, ..., 0]).mean() > 0.2


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


@pytest.mark.parametrize(
    ("lattice_shape", "shape"),
    [((2, 4, 5, 3), (2, 17, 9, 11)), ((1, 2, 2, 2), (1, 5, 1, 7)), ((3, 1, 6), (8, 1, 6))],
)
def test_upsample_linear_matches_torch_trilinear(lattice_shape, shape) -> None:
    lattice = np.random.default_rng(0).standard_normal(lattice_shape).astype(np.float32)
    out = upsample_linear(lattice, shape[-3:])
    assert out.shape == shape and out.dtype == np.float32
    source = torch.from_numpy(lattice.reshape(-1, *lattice_shape[-3:]))[None]
    expected = F.interpolate(source, size=shape[-3:], mode="trilinear", align_corners=True)
    np.testing.assert_allclose(out, expected[0].numpy().reshape(shape), atol=1e-5)
    # corners aligned: the lattice's corner values come through unchanged
    np.testing.assert_allclose(out[..., 0, 0, 0], lattice[..., 0, 0, 0], atol=1e-6)
    if min(shape[-3:]) > 1:  # (an axis of one voxel samples the lattice's first point, as torch)
        np.testing.assert_allclose(out[..., -1, -1, -1], lattice[..., -1, -1, -1], atol=1e-6)


def test_warp_nearest_matches_nearest_grid_sample_and_is_zero_outside() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, size=(7, 6, 5)).astype(np.uint8)
    # positions between and beyond the voxels (normalised, (z, y, x) order as grid_sample's)
    grid = rng.uniform(-1.3, 1.3, size=(1, 4, 5, 6, 3)).astype(np.float32)
    sampling = SamplingGrid(torch.from_numpy(grid), labels.shape)
    out = warp_nearest(labels, sampling)
    src = torch.from_numpy(labels.astype(np.float32))[None, None]
    expected = F.grid_sample(
        src, sampling.grid, mode="nearest", padding_mode="zeros", align_corners=True
    )[0, 0].numpy()
    # (ties at exact half-voxels may round either way; uniform draws hit none)
    np.testing.assert_array_equal(out, expected.astype(np.uint8))
    assert out.dtype == np.uint8 and (out == 0).sum() > (labels == 0).mean() * out.size


def test_limit_blas_threads_leaves_one_blas_thread_in_the_process() -> None:
    import subprocess
    import sys

    # (in a child: the limit is process-wide, and the test process keeps its own)
    code = (
        "import numpy, threadpoolctl\n"
        "from mslesion.synth.fields import limit_blas_threads\n"
        "limit_blas_threads()\n"
        "blas = [d for d in threadpoolctl.threadpool_info() if d['user_api'] == 'blas']\n"
        "assert blas and all(d['num_threads'] == 1 for d in blas), blas\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_smaller_brain_samples_the_template_further_from_the_centre(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a rigidly registered scan keeps its brain's own size (acquisition.place_brain): each
    # output voxel samples the template 1 / brain_scale as far out, on top of the same draws
    # (the ventricles' pull, which depends on where a point samples, is tested on its own)
    monkeypatch.setattr(fields, "VENTRICLE_ENLARGEMENT", (0.0, 0.0))
    centre = np.array([20.0, 24.0, 18.0], np.float32)
    middle = (np.asarray(SHAPE, np.float32) - 1) / 2

    def reach(scale: float) -> np.ndarray:
        rng = np.random.default_rng(3)
        grid = random_sampling_grid(SHAPE, 2.0, rng, centre, True, None, brain_scale=scale)
        return np.linalg.norm(grid[...] - middle, axis=-1)

    full, shrunk = reach(1.0), reach(0.85)
    far = full > 10  # (the elastic field's ~1 voxel matters little out there)
    assert np.median(shrunk[far] / full[far]) == pytest.approx(1 / 0.85, rel=0.03)


def test_ventricle_enlargement_pulls_sampling_towards_the_centre_widening_more_than_lengthening(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    centre = np.array([20.0, 24.0, 18.0], np.float32)

    def sampled(enlargement: tuple[float, float]) -> np.ndarray:
        monkeypatch.setattr(fields, "VENTRICLE_ENLARGEMENT", enlargement)
        grid = random_sampling_grid(SHAPE, 2.0, np.random.default_rng(5), centre, True, None)
        return grid[...]

    # the same draws either way: the difference is the enlargement alone (voxels, (x, y, z))
    pull = sampled((0.5, 0.5)) - sampled((0.0, 0.0))
    lateral, anterior = pull[28, 24, 18], pull[20, 32, 18]  # 8 voxels from the centre
    # sampled nearer (the ventricle grows), about along X (the case's own rotation and warp
    # tilt the offset a little)
    assert lateral[0] < -0.5 and abs(lateral[1]) < 0.15 * abs(lateral[0])
    assert anterior[1] < 0 and abs(anterior[1]) < 0.7 * abs(lateral[0])  # less along Y
    assert np.abs(pull[0, 0, 0]).max() < 0.2 * np.abs(lateral).max()  # fades far away


def test_sharpening_steepens_edges_inside_and_leaves_no_rim_at_the_brain_edge() -> None:
    from mslesion.synth.fields import sharpen_inside

    shape = (40, 40, 40)
    brain = np.zeros(shape, bool)
    brain[10:30, 10:30, 10:30] = True
    flat = np.where(brain, 1.0, 0.0).astype(np.float32)
    # a plain unsharp mask would lift the edge voxels against the zeros outside (to 1.3 here)
    out = sharpen_inside(flat, brain, 0.6, 1.0)
    np.testing.assert_allclose(out[brain], 1.0, atol=1e-5)
    np.testing.assert_array_equal(out[~brain], 0.0)
    # inside, an edge overshoots on both sides; flat tissue away from it is left alone
    step = flat.copy()
    step[20:30, 10:30, 10:30] = 2.0
    out = sharpen_inside(step, brain, 0.6, 1.0)
    assert out[19, 20, 20] < 0.9 and out[20, 20, 20] > 2.1
    np.testing.assert_allclose(out[13, 20, 20], 1.0, atol=1e-3)
    np.testing.assert_allclose(out[26, 20, 20], 2.0, atol=1e-3)


def test_sharpening_never_drives_a_thin_dark_line_below_zero() -> None:
    """A one-voxel CSF line between bright banks (the fissure, a closed sulcus) undershoots
    under an unsharp mask; below 0 the acquisition's magnitude would turn it bright."""
    from scipy import ndimage

    from mslesion.synth.fields import sharpen_csf_steps, sharpen_inside

    shape = (30, 30, 30)
    brain = np.zeros(shape, bool)
    brain[5:25, 5:25, 5:25] = True
    img = np.where(brain, 1.3, 0.0).astype(np.float32)
    img[15, 5:25, 5:25] = 0.1  # the line, darker than 0.6 x the median
    once = sharpen_inside(img, brain, 0.8, 1.0)
    twice = sharpen_csf_steps(once, brain, 1.2, 1.0)
    # unfloored, the first pass alone would take the line below 0
    unfloored = img + 0.8 * (img - ndimage.gaussian_filter(img, 1.0, truncate=2.5))
    assert unfloored[15, 15, 15] < 0
    assert twice[15, 15, 15] == 0.0 and twice[brain].min() >= 0.0
    # still darker than before, and its banks brighter
    assert twice[14, 15, 15] > 1.3 and once[15, 15, 15] < 0.1


def test_csf_step_sharpening_steepens_only_the_steps_next_to_csf() -> None:
    from mslesion.synth.fields import sharpen_csf_steps, sharpen_inside

    shape = (40, 40, 40)
    brain = np.zeros(shape, bool)
    brain[5:35, 5:35, 5:35] = True
    img = np.where(brain, 1.0, 0.0).astype(np.float32)
    img[5:35, 5:35, 12:14] = 0.2  # a sheet of CSF (dark: < 0.6 x the median 1.0)
    img[5:35, 5:35, 24:35] = 1.3  # a grey/white step, far from the CSF
    out = sharpen_csf_steps(img, brain, 1.0, 1.0)
    both = sharpen_inside(img, brain, 1.0, 1.0)
    # the CSF darkens and the tissue beside it brightens, as a full unsharp mask would
    assert out[20, 20, 12] < 0.2 - 0.05 and out[20, 20, 14] > 1.0 + 0.05
    np.testing.assert_allclose(out[20, 20, 11:15], both[20, 20, 11:15])
    # two voxels from the CSF and at the grey/white step nothing moves
    np.testing.assert_array_equal(out[20, 20, 15:35], img[20, 20, 15:35])
    assert not np.allclose(both[20, 20, 23:25], img[20, 20, 23:25])
    np.testing.assert_array_equal(out[~brain], 0.0)
