"""Shared fixtures: tiny volumes built in the test, and the real data folder when present."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from mslesion.paths import shared_data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (or $MSLESION_DATA); tests using it are skipped where it is absent."""
    path = shared_data_dir()
    if path is None or not (path / "real").is_dir():
        pytest.skip("shared real data not available")
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def make_blob_volume(
    shape: tuple[int, int, int] = (32, 36, 28), n_blobs: int = 3, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A small ellipsoidal 'brain' with bright spherical 'lesions': (image float32, mask uint8)."""
    gen = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), axis=-1).astype(np.float32)
    centre = (np.array(shape) - 1) / 2
    radii = np.array(shape) * 0.42
    brain = (((grid - centre) / radii) ** 2).sum(-1) <= 1.0
    image = np.where(brain, 0.4, 0.0).astype(np.float32)
    mask = np.zeros(shape, dtype=np.uint8)
    for _ in range(n_blobs):
        c = centre + gen.uniform(-0.4, 0.4, size=3) * radii
        r = gen.uniform(1.5, 3.5)
        mask |= ((((grid - c) ** 2).sum(-1) <= r * r) & brain).astype(np.uint8)
    image[mask > 0] = 0.9
    image = image + gen.normal(0, 0.02, size=shape).astype(np.float32) * brain
    return image.astype(np.float32), mask


@pytest.fixture
def blob_volume() -> tuple[np.ndarray, np.ndarray]:
    return make_blob_volume()


@pytest.fixture
def nifti_pair(tmp_path: Path) -> tuple[Path, Path]:
    """A tiny FLAIR + lesion mask written as .nii.gz with a 1 mm LAS-like affine."""
    image, mask = make_blob_volume()
    affine = np.diag([-1.0, 1.0, 1.0, 1.0])
    affine[:3, 3] = [16, -18, -14]
    flair = tmp_path / "case001_FLAIR.nii.gz"
    truth = tmp_path / "case001_mask.nii.gz"
    nib.save(nib.Nifti1Image(image, affine), flair)
    nib.save(nib.Nifti1Image(mask, affine), truth)
    return flair, truth
