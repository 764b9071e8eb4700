"""Volumes from cases (cached), epoch plans mixing real and synthetic, the patch dataset."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from mslesion.data.dataset import (
    PatchDataset,
    PreprocessSettings,
    SamplingSettings,
    VolumeData,
    attach_indices,
    load_case,
    plan_epoch,
)
from mslesion.errors import InputError
from mslesion.io.cases import Case


def _volume(name: str, source: str, seed: int) -> VolumeData:
    gen = np.random.default_rng(seed)
    brain = np.zeros((24, 24, 24), np.uint8)
    brain[2:22, 2:22, 2:22] = 1
    mask = np.zeros_like(brain)
    c = gen.integers(4, 18, 3)
    mask[c[0] : c[0] + 3, c[1] : c[1] + 3, c[2] : c[2] + 3] = 1
    image = (brain * 0.4 + mask * 0.5).astype(np.float32)
    return VolumeData(name, name, image, mask, brain, source=source)


SAMPLING = SamplingSettings(
    patch_size=(8, 8, 8), stride=(4, 4, 4), positive_share=0.5, synthetic_ratio=0.25
)


def test_plan_mixes_real_and_synthetic_by_ratio_and_is_reproducible() -> None:
    vols = [_volume("r0", "real", 0), _volume("r1", "real", 1), _volume("s0", "synthetic", 2)]
    attach_indices(vols, SAMPLING)
    plan = plan_epoch(vols, 40, SAMPLING, seed=3, epoch=0)
    assert len(plan) == 40
    assert sum(vols[r.volume].source == "synthetic" for r in plan) == 10
    assert sum(r.positive for r in plan) == 20
    assert plan == plan_epoch(vols, 40, SAMPLING, seed=3, epoch=0)
    assert plan != plan_epoch(vols, 40, SAMPLING, seed=3, epoch=1)


def test_patch_dataset_yields_channel_first_tensors() -> None:
    vols = [_volume("r0", "real", 0)]
    attach_indices(vols, SAMPLING)
    plan = plan_epoch(vols, 6, SAMPLING, seed=0, epoch=0)
    ds = PatchDataset(vols, plan, (8, 8, 8))
    image, mask = ds[0]
    assert image.shape == mask.shape == (1, 8, 8, 8)
    x, y, z = plan[0].start
    np.testing.assert_array_equal(mask[0].numpy(), vols[0].mask[x : x + 8, y : y + 8, z : z + 8])
    assert bool(mask.sum() > 0) == plan[0].positive


def test_load_case_normalises_to_unit_range_and_caches(tmp_path: Path) -> None:
    image = np.zeros((20, 20, 20), np.float32)
    image[4:16, 4:16, 4:16] = np.random.default_rng(0).uniform(100, 300, (12, 12, 12))
    mask = np.zeros((20, 20, 20), np.uint8)
    mask[8:10, 8:10, 8:10] = 1
    nib.save(nib.Nifti1Image(image, np.eye(4)), tmp_path / "c_FLAIR.nii.gz")
    nib.save(nib.Nifti1Image(mask, np.eye(4)), tmp_path / "c_mask.nii.gz")
    case = Case("c", "c", tmp_path / "c_FLAIR.nii.gz", lesion_mask=tmp_path / "c_mask.nii.gz")
    vol = load_case(case, PreprocessSettings(), cache_dir=tmp_path / "cache")
    assert float(np.min(vol.image)) == 0.0 and float(np.max(vol.image)) == pytest.approx(
        1.0, abs=1e-3
    )
    np.testing.assert_array_equal(vol.brain, (image != 0).astype(np.uint8))
    np.testing.assert_array_equal(vol.mask, mask)
    assert len(list((tmp_path / "cache").iterdir())) == 1
    again = load_case(case, PreprocessSettings(), cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(np.asarray(again.image), np.asarray(vol.image))
    with pytest.raises(InputError, match="no lesion mask"):
        load_case(Case("d", "d", tmp_path / "c_FLAIR.nii.gz"), PreprocessSettings())


def test_synthetic_cache_follows_the_generator_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mslesion.data.dataset import synthetic_volume
    from mslesion.synth import generate as synth_generate

    prep = PreprocessSettings("minmax", (0.5, 99.5))
    synth = {"voxel_size_mm": 3.0, "lesion_load": "low"}
    first = synthetic_volume(0, synth, prep, tmp_path)
    synthetic_volume(0, synth, prep, tmp_path)
    assert len(list(tmp_path.iterdir())) == 1  # same seed, same generator: one cache entry
    monkeypatch.setattr(synth_generate, "GENERATOR_VERSION", synth_generate.GENERATOR_VERSION + 1)
    again = synthetic_volume(0, synth, prep, tmp_path)
    assert len(list(tmp_path.iterdir())) == 2  # a new generator never reads the old volumes
    assert np.array_equal(np.asarray(first.mask), np.asarray(again.mask))
