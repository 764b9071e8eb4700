"""Fixtures for training tests: a flat folder of tiny blob volumes and a tiny config."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from blob_volumes import make_blob_volume
from mslesion.train.config import TrainConfig, config_from_dict

N_CASES = 4


@pytest.fixture(scope="session")
def blob_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``s0..s3_FLAIR.nii.gz`` + ``_mask`` (28x30x26 voxels, 1 mm), intensities on a ~300 scale."""
    root = tmp_path_factory.mktemp("blobs")
    for i in range(N_CASES):
        image, mask = make_blob_volume(
            (28, 30, 26), 4, seed=i, spread=0.45, radius=(1.5, 3.0), noise=0.03
        )
        nib.save(nib.Nifti1Image(image * 300.0, np.eye(4)), root / f"s{i}_FLAIR.nii.gz")
        nib.save(nib.Nifti1Image(mask, np.eye(4)), root / f"s{i}_mask.nii.gz")
    return root


@pytest.fixture(scope="session")
def make_config(blob_dataset: Path):  # -> Callable[..., TrainConfig]
    """``make_config(**{"key.sub": value})``: a tiny config (second-long epochs on one thread)."""

    def make(**overrides: object) -> TrainConfig:
        return _tiny_config(blob_dataset, overrides)

    return make


def _tiny_config(data: Path, overrides: dict[str, object]) -> TrainConfig:
    raw = {
        "epochs": 2,
        "device": "cpu",
        "threads": 1,
        "data": {
            "paths": [str(data)],
            "patch_size": [16, 16, 16],
            "stride": [8, 8, 8],
            "patches_per_epoch": 8,
            "batch_size": 4,
            "num_workers": 0,
            "cache_dir": None,
        },
        "split": {"val_subjects": ["s3"]},
        "augment": {"elastic_magnitude": [2.0, 4.0], "elastic_sigma": [2.0, 3.0]},
        "model": {"name": "r2attunet", "kwargs": {"base_channels": 4, "depth": 2, "t": 1}},
        "optim": {"lr": 3e-3},
        "validation": {"overlap": 0.25, "sw_batch_size": 4},
    }
    return config_from_dict(raw, [f"{k}={v}" for k, v in overrides.items()])
