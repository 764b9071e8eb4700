"""Shared fixtures: tiny volumes built in the test, and the real data folder when present."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from blob_volumes import make_blob_volume
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


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> None:
    """Tiny 3D convolutions run faster on one thread than two (thread start-up dominates)."""
    import torch

    torch.set_num_threads(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the tests marked ``gpu`` where torch sees no CUDA device (CI's CPU machines)."""
    import os

    import torch

    # asked through NVML, so that collection does not initialise CUDA in this process: a
    # process that did cannot fork workers that use torch (tests/train/test_ddp.py forks)
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
