"""SynergyNet training: config from a dict, crops, one short run writing checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mslesion.errors import ConfigError
from mslesion.models.checkpoint import model_from_checkpoint
from mslesion.train.synergy import SynergyTrainConfig, TrainingVolume, crop_sample, train_on_volumes


def test_config_from_dict_defaults_and_errors():
    config = SynergyTrainConfig.from_dict(
        {"data": "x", "crop_size": [8, 8, 8], "alphas": [1, 1, 1, 1, 1, 2]}
    )
    assert config.crop_size == (8, 8, 8) and config.alphas[-1] == 2
    assert SynergyTrainConfig().alphas == (1.0, 1.0, 1.3, 1.0, 1.0, 5.0)
    assert SynergyTrainConfig().crop_size == (128, 160, 128) and SynergyTrainConfig().lr == 1e-3
    with pytest.raises(ConfigError):
        SynergyTrainConfig.from_dict({"learning_rate": 1})
    with pytest.raises(ConfigError):
        SynergyTrainConfig.from_dict({"alphas": [1, 2]})
    assert (
        "seg" not in SynergyTrainConfig(model="maskrcnn3d").schedule().stage_at(10_000).loss_terms
    )


def test_crop_is_centred_padded_and_rotation_keeps_mask_binary():
    image = np.zeros((10, 20, 12), np.float32)
    image[5, 10, 6] = 7.0  # the centre voxel
    mask = (image > 0).astype(np.uint8)
    vol = TrainingVolume("c", image, mask)
    config = SynergyTrainConfig(crop_size=(8, 24, 8), jitter=0, rotate_degrees=0)
    img, msk = crop_sample(vol, config, None)
    assert img.shape == (1, 8, 24, 8) and msk.shape == img.shape
    assert img[0, 4, 12, 4] == 7.0  # the volume centre stays at the crop centre
    rotated = SynergyTrainConfig(crop_size=(8, 24, 8), jitter=2, rotate_degrees=15)
    _, msk = crop_sample(vol, rotated, np.random.default_rng(0))
    assert set(torch.unique(msk).tolist()) <= {0.0, 1.0}


def test_short_staged_run_writes_loadable_checkpoints(tmp_path):
    rng = np.random.default_rng(0)
    mask = np.zeros((14, 14, 14), np.uint8)
    mask[5:8, 6:9, 5:7] = 1
    image = (mask * 2 + rng.normal(0, 0.2, mask.shape)).astype(np.float32)
    vol = TrainingVolume("c", image, mask)
    config = SynergyTrainConfig(
        model="synergynet",
        model_kwargs={"base_channels": 2, "depth": 3, "norm": "instance"},
        crop_size=(12, 12, 12),
        jitter=1,
        stage_epochs=(1, 1, 1, 1),
        iterations_per_epoch=1,
    )
    model, history = train_on_volumes(config, [vol], [vol], tmp_path)
    assert [h["stage"] for h in history] == [1, 2, 3, 4]
    assert "seg" in history[-1] and "seg" not in history[0] and "mask" not in history[1]
    rebuilt, ckpt = model_from_checkpoint(tmp_path / "best.pt")
    assert ckpt["preprocessing"]["normalization"] == "zscore"
    assert ckpt["model"]["name"] == "synergynet"
    assert (tmp_path / "last.pt").exists() and len(
        (tmp_path / "history.jsonl").read_text().splitlines()
    ) == 4


def test_time_budget_resizes_epochs_after_the_first(tmp_path):
    mask = np.zeros((14, 14, 14), np.uint8)
    mask[5:8, 6:9, 5:7] = 1
    vol = TrainingVolume("c", mask.astype(np.float32) * 2, mask)
    common = dict(
        model="unet3d",
        model_kwargs={"base_channels": 2, "depth": 2, "norm": "instance"},
        crop_size=(12, 12, 12),
        stage_epochs=(1, 1, 1, 1),
        iterations_per_epoch=3,
    )
    _, fixed = train_on_volumes(SynergyTrainConfig(**common), [vol], [])
    assert [h["iterations"] for h in fixed] == [3, 3, 3, 3]
    # A spent budget leaves one step per later epoch; the first epoch measures the step time.
    _, spent = train_on_volumes(SynergyTrainConfig(**common, time_budget_s=0.0), [vol], [])
    assert [h["iterations"] for h in spent] == [3, 1, 1, 1]
    # A budget of ~150 steps' time makes later epochs longer than the first (with room for the
    # machine to run several times slower than when the step was measured).
    step = np.mean([h["seconds"] / h["iterations"] for h in fixed])
    _, grown = train_on_volumes(SynergyTrainConfig(**common, time_budget_s=150 * step), [vol], [])
    assert max(h["iterations"] for h in grown[1:]) > 3


def test_split_volumes_keeps_each_patient_on_one_side():
    from mslesion.train.synergy import split_volumes

    blank = np.zeros((2, 2, 2), np.float32)
    volumes = [
        TrainingVolume(f"{p}_T{t}", blank, blank.astype(np.uint8), p)
        for p, n in (("P1", 3), ("P2", 2), ("P3", 1), ("P4", 1))
        for t in range(n)
    ]
    for seed in range(10):
        train, val = split_volumes(volumes, 0.25, seed)
        assert len(train) + len(val) == len(volumes)
        assert len({v.patient for v in val}) == 1  # a quarter of 4 patients
        assert not {v.patient for v in train} & {v.patient for v in val}
    # without a subject each case is its own patient
    solo = [TrainingVolume(f"c{i}", blank, blank.astype(np.uint8)) for i in range(4)]
    assert [v.patient for v in solo] == ["c0", "c1", "c2", "c3"]
