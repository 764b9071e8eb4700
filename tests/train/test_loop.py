"""End-to-end training on tiny blob volumes: the smoke run, the run folder, exact resume."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch

from mslesion.errors import InputError
from mslesion.models.checkpoint import load_checkpoint, model_from_checkpoint
from mslesion.train.config import VALIDATION_METRICS
from mslesion.train.loop import train


def _rows(run: Path) -> list[dict[str, str]]:
    with open(run / "metrics.csv", newline="") as fh:
        return list(csv.DictReader(fh))


# 8 steps an epoch: enough for the loss to fall reliably from the prior-initialised head.
SMOKE = {"data.patches_per_epoch": 32}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory, make_config) -> Path:
    run = tmp_path_factory.mktemp("smoke") / "run"
    train(make_config(**SMOKE), run)
    return run


def test_two_epochs_lower_the_training_loss(smoke_run: Path) -> None:
    rows = _rows(smoke_run)
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert float(rows[1]["train_loss"]) < float(rows[0]["train_loss"])
    for row in rows:  # the total is the 0.5/0.5 mix of the logged parts
        mix = 0.5 * float(row["train_bce"]) + 0.5 * float(row["train_dice_loss"])
        assert float(row["train_loss"]) == pytest.approx(mix, rel=1e-6)


def test_run_folder_holds_everything(smoke_run: Path) -> None:
    for name in (
        "config.yaml",
        "metrics.csv",
        "curves_loss.png",
        "curves_metrics.png",
        "last.pt",
        "best.pt",
    ):
        assert (smoke_run / name).stat().st_size > 0, name
    assert any((smoke_run / "tensorboard").iterdir())
    header = _rows(smoke_run)[0].keys()
    for col in (
        "lr",
        "train_bce",
        "train_dice_loss",
        "train_loss",
        "val_bce",
        "val_dice_loss",
        "val_loss",
        "val_dice",
        "val_sensitivity",
        "val_specificity",
        "val_precision",
        "val_accuracy",
        "val_lesion_tpr",
        "val_lesion_fpr",
    ):
        assert col in header, col
    assert 0.0 <= float(_rows(smoke_run)[-1]["val_dice"]) <= 1.0
    for name in VALIDATION_METRICS:  # every metric best.pt may follow is logged
        assert f"val_{name}" in header, name


def test_checkpoint_holds_full_training_state(smoke_run: Path) -> None:
    ckpt = load_checkpoint(smoke_run / "last.pt")
    assert ckpt["model"] == {
        "name": "r2attunet",
        "kwargs": {"base_channels": 4, "depth": 2, "t": 1},
    }
    assert ckpt["epoch"] == 1
    for key in ("optimizer", "scheduler", "scaler", "rng", "config", "data_manifest_hash"):
        assert ckpt[key] is not None, key
    assert set(ckpt["rng"]) >= {"python", "numpy", "torch"}
    assert ckpt["preprocessing"]["normalization"] == "minmax"
    assert ckpt["preprocessing"]["patch_size"] == [16, 16, 16]
    model, _ = model_from_checkpoint(smoke_run / "best.pt")
    out = model(torch.zeros(1, 1, 16, 16, 16))
    assert out.shape == (1, 1, 16, 16, 16)


def test_best_checkpoint_is_the_best_epoch(smoke_run: Path) -> None:
    dice = [float(r["val_dice"]) for r in _rows(smoke_run)]
    best = load_checkpoint(smoke_run / "best.pt")
    valid = [d for d in dice if not math.isnan(d)]
    assert best["best_value"] == pytest.approx(max(valid))
    assert best["metrics"]["val_dice"] == pytest.approx(max(valid))


def test_refuses_to_overwrite_a_run(smoke_run: Path, make_config) -> None:
    with pytest.raises(InputError, match="--resume"):
        train(make_config(), smoke_run)


def test_resume_reproduces_an_uninterrupted_run(
    tmp_path: Path, make_config, smoke_run: Path
) -> None:
    run = tmp_path / "resumed"
    train(make_config(epochs=1, **SMOKE), run)
    assert [r["epoch"] for r in _rows(run)] == ["0"]
    train(make_config(epochs=2, **SMOKE), run, resume=True)
    straight = load_checkpoint(smoke_run / "last.pt")["state_dict"]
    resumed = load_checkpoint(run / "last.pt")["state_dict"]
    assert straight.keys() == resumed.keys()
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key
    a, b = _rows(smoke_run), _rows(run)
    assert len(a) == len(b) == 2
    for ra, rb in zip(a, b, strict=True):
        for col in ra:
            if col != "time_s":
                assert ra[col] == rb[col], col


def test_dataloader_workers_do_not_change_the_result(tmp_path: Path, make_config) -> None:
    # Both read the float16 memmap cache (a run without cache sees float32 images instead).
    cache = {"data.cache_dir": str(tmp_path / "cache")}
    plain = train(make_config(epochs=1, **cache), tmp_path / "plain")
    assert any((tmp_path / "cache").iterdir())
    workers = train(make_config(epochs=1, **{"data.num_workers": 2}, **cache), tmp_path / "workers")
    a, b = plain.model.state_dict(), workers.model.state_dict()
    for key in a:
        assert torch.equal(a[key], b[key]), key
