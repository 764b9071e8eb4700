"""Test helpers: a skull-on, rotated, anisotropic native FLAIR phantom with known lesions, and a
test-only "network" whose output we control (a 1x1x1 convolution that thresholds intensity).

Imported by tests/infer, tests/preprocess and tests/cli (they add this folder to sys.path).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from scipy import ndimage, spatial
from torch import nn

from mslesion.models.registry import _REGISTRY, register_model
from mslesion.preprocess import templates

# lesion centres in MNI mm (deep/periventricular white matter) and radii in mm
LESIONS_MNI = (
    (-26.0, -12.0, 26.0, 6.0),
    (24.0, 8.0, 24.0, 5.0),
    (-28.0, -42.0, 18.0, 5.0),
    (28.0, -30.0, 32.0, 6.0),
)


@dataclass(frozen=True)
class Phantom:
    """``flair`` and ``lesions`` (X, Y, Z) on the native grid ``affine``; ``mni_to_native`` is the
    true 4x4 RAS map from MNI mm to native world mm."""

    flair: np.ndarray
    lesions: np.ndarray
    affine: np.ndarray
    mni_to_native: np.ndarray


@lru_cache(maxsize=2)
def mni_phantom(spacing: float = 2.0) -> tuple[np.ndarray, np.ndarray, templates.Grid]:
    """FLAIR-like head on the MNI box: (image float32, lesion mask uint8, grid)."""
    grid = templates.model_grid(spacing)
    gm = templates.template_on_grid("gm", spacing)
    wm = templates.template_on_grid("wm", spacing)
    brain = templates.brain_mask_on_grid(spacing)
    image = np.where(brain, 0.15 + 0.3 * wm + 0.45 * gm, 0.0).astype(np.float32)
    world = grid.world_coords()
    lesions = np.zeros(grid.shape, dtype=bool)
    for x, y, z, r in LESIONS_MNI:
        lesions |= ((world - np.array([x, y, z], dtype=np.float32)) ** 2).sum(-1) <= r * r
    image[lesions] = 1.0
    outside = ndimage.distance_transform_edt(~brain) * spacing
    image[(outside > 5) & (outside <= 11)] = 0.85  # skull-like bright rim (marrow/fat)
    image[(outside > 13) & (outside <= 17)] = 0.5  # scalp
    return image, lesions.astype(np.uint8), grid


def native_phantom(
    spacing: tuple[float, float, float] = (1.5, 1.5, 4.0),
    angles_deg: tuple[float, float, float] = (10.0, -6.0, 8.0),
    shift_mm: tuple[float, float, float] = (6.0, -9.0, 12.0),
    seed: int = 0,
) -> Phantom:
    """The MNI phantom seen by a scanner: rotated, shifted, anisotropic voxels, PSL-like axes."""
    image, lesions, grid = mni_phantom(2.0)
    rot = spatial.transform.Rotation.from_euler("xyz", angles_deg, degrees=True).as_matrix()
    mni_to_native = np.eye(4)
    mni_to_native[:3, :3] = rot
    mni_to_native[:3, 3] = shift_mm
    # native voxel axes: x -> posterior, y -> superior, z -> left (sagittal-like acquisition)
    axes = np.array([[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]).T
    shape = tuple(int(np.ceil(e / s)) for e, s in zip((230.0, 200.0, 180.0), spacing, strict=True))
    affine = np.eye(4)
    affine[:3, :3] = axes * np.asarray(spacing)
    centre_world = mni_to_native[:3, :3] @ np.array([0.0, -18.0, 10.0]) + mni_to_native[:3, 3]
    affine[:3, 3] = centre_world - affine[:3, :3] @ ((np.asarray(shape) - 1) / 2.0)
    native_to_mni_vox = np.linalg.inv(grid.affine) @ np.linalg.inv(mni_to_native) @ affine

    def warp(a: np.ndarray) -> np.ndarray:
        return ndimage.affine_transform(
            a.astype(np.float32),
            native_to_mni_vox[:3, :3],
            native_to_mni_vox[:3, 3],
            output_shape=shape,
            order=1,
        )

    flair = warp(image)
    flair += np.random.default_rng(seed).normal(0, 0.01, size=shape).astype(np.float32) * (
        flair > 0
    )
    return Phantom(
        flair=(flair * 300).astype(np.float32),
        lesions=(warp(lesions) >= 0.5).astype(np.uint8),
        affine=affine,
        mni_to_native=mni_to_native,
    )


class IntensityThreshold(nn.Module):
    """Test-only network: logits = gain * (x - level) via a 1x1x1 convolution (shape-preserving)."""

    def __init__(self, level: float = 0.8, gain: float = 40.0) -> None:
        super().__init__()
        self.conv = nn.Conv3d(1, 1, kernel_size=1)
        with torch.no_grad():
            self.conv.weight.fill_(gain)
            self.conv.bias.fill_(-gain * level)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


if "test_intensity_threshold" not in _REGISTRY:
    register_model("test_intensity_threshold", "test-only: thresholds normalised intensity")(
        IntensityThreshold
    )


def threshold_checkpoint(spacing_mm: float = 2.0) -> dict:
    """A checkpoint of :class:`IntensityThreshold` on a coarse model grid (fast tests).

    Percentiles 0/100: the phantom's lesions are its brightest brain voxels, so after min-max
    scaling they sit near 1 and everything else below the 0.8 level.
    """
    from mslesion.models.checkpoint import make_checkpoint
    from mslesion.models.registry import build_model

    prep = {
        "normalization": "minmax",
        "percentiles": [0.0, 100.0],
        "spacing": [spacing_mm] * 3,
        "patch_size": [48, 48, 48],
    }
    return make_checkpoint(build_model("test_intensity_threshold"), preprocessing=prep)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0, b > 0
    return 2.0 * float((a & b).sum()) / max(float(a.sum() + b.sum()), 1.0)
