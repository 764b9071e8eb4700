"""Random smooth fields and the per-sample spatial deformation.

Smooth fields are drawn on a coarse lattice and upsampled trilinearly with torch (one call,
no per-voxel Python), which is what keeps a 1 mm sample under a few seconds on one core.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def smooth_field(
    shape: tuple[int, int, int], cell_vox: float, rng: np.random.Generator, channels: int = 1
) -> np.ndarray:
    """Gaussian random field with unit-ish std and correlation length ~``cell_vox`` voxels.

    Returns float32 (channels, X, Y, Z) (the leading axis is kept even when ``channels`` is 1).
    """
    coarse = tuple(max(2, int(math.ceil(s / max(cell_vox, 1e-3))) + 1) for s in shape)
    lattice = torch.from_numpy(rng.standard_normal((1, channels, *coarse), dtype=np.float32))
    up = F.interpolate(lattice, size=shape, mode="trilinear", align_corners=True)
    return up[0].numpy()


def _rotation(angles_rad: np.ndarray) -> np.ndarray:
    ax, ay, az = angles_rad
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


LATTICE_MM = 4.0  # the deformation is smooth at this scale, so it is computed on a coarse lattice


class SamplingGrid:
    """Where each output voxel samples the template, held as torch's normalised grid.

    ``grid`` is float32 (1, X, Y, Z, 3) in ``grid_sample`` convention (last axis = (z, y, x)
    array axes, each scaled to [-1, 1]). Indexing ``sampling[key]`` (any numpy index over the
    first three axes) returns template voxel coordinates (..., 3) in (x, y, z) index units.
    """

    def __init__(self, grid: torch.Tensor, template_shape: tuple[int, int, int]) -> None:
        self.grid = grid
        self.shape = tuple(int(s) for s in grid.shape[1:4])
        self._half = np.array([(s - 1) / 2.0 for s in template_shape], dtype=np.float32)
        self._np = grid[0].numpy()

    def __getitem__(self, key: object) -> np.ndarray:
        g = self._np[key]  # type: ignore[index]
        return (g[..., ::-1] + 1.0) * self._half


def random_sampling_grid(
    shape: tuple[int, int, int],
    voxel_size_mm: float,
    rng: np.random.Generator,
    ventricle_centre: np.ndarray,
    enabled: bool = True,
    hemisphere_shear: tuple[float, np.ndarray] | None = None,
) -> SamplingGrid:
    """Draw one random deformation of the template grid (output grid = template grid shape).

    Composes a small rotation (<= 6 deg per axis), anisotropic scaling (0.92-1.08), a smooth
    elastic displacement (std ~2 mm, correlation ~30 mm) and ventricle enlargement (points near
    the ventricles sample closer to their centre, so the ventricles grow by up to ~35 %). All
    of it is evaluated on a lattice every ``LATTICE_MM`` mm and upsampled trilinearly (exact
    for the affine part), which is ~10x cheaper than evaluating it per voxel.

    ``hemisphere_shear`` = (x index of the midline, weight (Y, Z) float32 in [0, 1]) slides
    the two hemispheres against each other along the falx, by a smooth random y/z offset
    (:func:`hemisphere_offsets`) where the weight is 1 (medial cortex facing the fissure) and
    not at all where it is 0 (structures that cross the midline).
    """
    step = max(1.0, LATTICE_MM / voxel_size_mm)
    coarse = tuple(max(2, int(math.ceil((s - 1) / step)) + 1) for s in shape)
    axes = [np.linspace(0, s - 1, c, dtype=np.float32) for s, c in zip(shape, coarse, strict=True)]
    pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    if enabled:
        centre = (np.asarray(shape, np.float32) - 1) / 2
        rot = _rotation(np.deg2rad(rng.uniform(-6, 6, size=3)))
        scale = rng.uniform(0.92, 1.08, size=3)
        matrix = (rot / scale[None, :]).astype(
            np.float32
        )  # sampling matrix = inverse of the forward scaling
        coords = (pts - centre) @ matrix.T + centre
        cell = 30.0 / voxel_size_mm / step  # elastic correlation length, in lattice cells
        elastic = smooth_field(coarse, cell, rng, channels=3) * np.float32(2.0 / voxel_size_mm)
        coords += np.moveaxis(elastic, 0, -1)
        enlarge = np.float32(rng.uniform(0.0, 0.35))
        sigma = 22.0 / voxel_size_mm
        rel = coords - ventricle_centre.astype(np.float32)
        weight = np.exp(-(rel**2).sum(-1, keepdims=True) / np.float32(2 * sigma * sigma))
        coords -= enlarge * rel * weight
        if hemisphere_shear is not None:
            coords += hemisphere_offsets(pts, voxel_size_mm, step, *hemisphere_shear, rng)
    else:
        coords = pts
    half = (np.asarray(shape, np.float32) - 1) / 2
    norm = (coords / half - 1.0)[..., ::-1].copy()  # -> grid_sample's (z, y, x) order in [-1, 1]
    lattice = torch.from_numpy(np.moveaxis(norm, -1, 0).copy())[None]
    full = F.interpolate(lattice, size=shape, mode="trilinear", align_corners=True)
    return SamplingGrid(full.permute(0, 2, 3, 4, 1).contiguous(), shape)


#: Std (mm) of the offset each hemisphere slides by along the falx, and its correlation (mm).
HEMISPHERE_SHIFT_MM = (2.5, 25.0)


def hemisphere_offsets(
    pts: np.ndarray,
    voxel_size_mm: float,
    step: float,
    midline_x: float,
    weight_yz: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sampling offsets (..., 3) float32, voxels, at lattice points ``pts`` (..., 3) (template
    voxel coordinates, ``step`` voxels apart): +d(y, z) right of the midline, -d(y, z) left of
    it, d a smooth random (y, z) offset (``HEMISPHERE_SHIFT_MM``), times ``weight_yz`` there.

    The template is an average of 152 brains and close to mirror-symmetric: the sulci of the
    two medial surfaces met at the same places, and where they open into the fissure they drew
    crosses. A real brain's hemispheres are not mirror images; sliding them by a few mm along
    the midline (which the falx separates, so nothing there is torn) breaks that symmetry.
    The switch across the midline takes one lattice cell (~4 mm).
    """
    std_mm, corr_mm = HEMISPHERE_SHIFT_MM
    # (2, 1, Y, Z): one offset per (y, z), the same through each hemisphere's depth
    shift = smooth_field((1, *pts.shape[1:3]), corr_mm / voxel_size_mm / step, rng, channels=2)
    shift *= np.float32(std_mm / voxel_size_mm)
    # +-1 beyond ~1 mm of the midline: a sign, soft only at a lattice point on the midline itself
    side = np.tanh((pts[..., 0] - np.float32(midline_x)) * np.float32(voxel_size_mm))
    yz = np.clip(np.rint(pts[0, :, :, 1:]).astype(np.int64), 0, np.array(weight_yz.shape) - 1)
    side *= weight_yz[yz[..., 0], yz[..., 1]][None]
    out = np.zeros(pts.shape, np.float32)
    out[..., 1:] = np.moveaxis(shift, 0, -1) * side[..., None]
    return out


def warp_linear(volume: np.ndarray, sampling: SamplingGrid) -> np.ndarray:
    """Trilinear sample of one (X, Y, Z) template volume (torch ``grid_sample``), 0 outside."""
    src = torch.from_numpy(np.ascontiguousarray(volume, dtype=np.float32))[None, None]
    return F.grid_sample(
        src, sampling.grid, mode="bilinear", padding_mode="zeros", align_corners=True
    )[0, 0].numpy()


def warp_nearest(labels: np.ndarray, sampling: SamplingGrid) -> np.ndarray:
    """Nearest-neighbour sample of a label volume (X, Y, Z), 0 outside.

    A numpy gather: ``grid_sample(mode="nearest")`` costs as much as trilinear per channel.
    """
    shape = np.array(labels.shape)
    g = sampling.grid[0]
    flat = torch.zeros(sampling.shape, dtype=torch.int64)
    inside = torch.ones(sampling.shape, dtype=torch.bool)
    for axis in range(3):
        idx = torch.round((g[..., 2 - axis] + 1.0) * float((shape[axis] - 1) / 2.0)).to(torch.int64)
        inside &= (idx >= 0) & (idx < int(shape[axis]))
        flat = flat * int(shape[axis]) + idx.clamp_(0, int(shape[axis]) - 1)
    out = (
        torch.from_numpy(np.ascontiguousarray(labels))
        .reshape(-1)[flat.reshape(-1)]
        .reshape(sampling.shape)
    )
    return (out * inside).numpy()


def lookup(volume: np.ndarray, coords: np.ndarray, order: int = 0) -> np.ndarray:
    """Values of ``volume`` at (..., 3) template-voxel positions (nearest or linear), 0 outside."""
    from scipy import ndimage

    pts = coords.reshape(-1, 3).T
    if order == 0:
        idx = np.rint(pts).astype(np.int64)
        inside = np.all((idx >= 0) & (idx < np.array(volume.shape)[:, None]), axis=0)
        out = np.zeros(idx.shape[1], dtype=volume.dtype)
        out[inside] = volume[tuple(idx[:, inside])]
    else:
        out = ndimage.map_coordinates(volume, pts, order=order, mode="constant", cval=0.0)
    return out.reshape(coords.shape[:-1])
