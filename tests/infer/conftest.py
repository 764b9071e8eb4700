"""Session fixtures for segmentation tests: the native phantom and a controlled checkpoint."""

from __future__ import annotations

import sys
from pathlib import Path

import nibabel as nib
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from segment_phantom import Phantom, native_phantom, threshold_checkpoint  # noqa: E402

from mslesion.io.nifti import NiftiVolume  # noqa: E402


@pytest.fixture(scope="session")
def phantom() -> Phantom:
    return native_phantom()


@pytest.fixture(scope="session")
def phantom_volume(phantom: Phantom) -> NiftiVolume:
    return NiftiVolume(phantom.flair, phantom.affine, nib.Nifti1Header())


@pytest.fixture(scope="session")
def threshold_ckpt() -> dict:
    return threshold_checkpoint()
