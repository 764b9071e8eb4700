"""Checkpoints rebuild their model from the file alone; bad files give one-line InputErrors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mslesion.errors import InputError, OutputExistsError
from mslesion.models import build_model
from mslesion.models.checkpoint import (
    FORMAT,
    load_checkpoint,
    make_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)

PREPROCESSING = {"normalization": "minmax", "percentiles": [0.5, 99.5], "patch_size": [16] * 3}


def _trained_tiny(name: str = "r2attunet", **kwargs) -> torch.nn.Module:
    """A tiny model whose weights and BN statistics differ from a fresh build."""
    torch.manual_seed(123)
    model = build_model(name, base_channels=4, depth=2, **kwargs)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(2, 1, 16, 16, 16)
    loss = model(x).square().mean()
    loss.backward()
    opt.step()
    return model.eval()


@pytest.fixture
def x() -> torch.Tensor:
    torch.manual_seed(7)
    return torch.randn(1, 1, 13, 16, 11)


def test_round_trip_rebuilds_identical_model(tmp_path: Path, x: torch.Tensor) -> None:
    model = _trained_tiny(t=1, norm="instance")
    ckpt = make_checkpoint(model, preprocessing=PREPROCESSING, metrics={"val_dice": 0.71}, epoch=3)
    path = save_checkpoint(tmp_path / "m.pt", ckpt)

    rebuilt, loaded = model_from_checkpoint(path)
    assert not rebuilt.training
    assert loaded["format"] == FORMAT
    assert loaded["model"] == {
        "name": "r2attunet",
        "kwargs": {"base_channels": 4, "depth": 2, "t": 1, "norm": "instance"},
    }
    assert loaded["preprocessing"] == PREPROCESSING
    assert loaded["metrics"]["val_dice"] == pytest.approx(0.71)
    assert loaded["epoch"] == 3
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), model(x), rtol=0, atol=0)
        # Sanity: a fresh model with other weights would NOT match.
        fresh = build_model("r2attunet", base_channels=4, depth=2, t=1, norm="instance").eval()
        assert not torch.allclose(fresh(x), model(x))


def test_round_trip_from_dict_and_batchnorm_buffers(x: torch.Tensor) -> None:
    model = _trained_tiny("resunet3d")
    rebuilt, _ = model_from_checkpoint(make_checkpoint(model))
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), model(x), rtol=0, atol=0)


def test_half_checkpoint_loads_as_float32(tmp_path: Path, x: torch.Tensor) -> None:
    model = _trained_tiny("unet3d")
    full = tmp_path / "full.pt"
    half = tmp_path / "half.pt"
    save_checkpoint(full, make_checkpoint(model))
    save_checkpoint(half, make_checkpoint(model, half=True))
    stored = torch.load(half, weights_only=False)["state_dict"]
    assert all(v.dtype == torch.float16 for v in stored.values() if v.is_floating_point())
    assert half.stat().st_size < 0.7 * full.stat().st_size
    rebuilt, _ = model_from_checkpoint(half)
    assert all(p.dtype == torch.float32 for p in rebuilt.parameters())
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), model(x), rtol=1e-2, atol=1e-2)


def test_save_refuses_to_overwrite_when_asked(tmp_path: Path) -> None:
    ckpt = make_checkpoint(build_model("unet3d", base_channels=2, depth=1))
    path = save_checkpoint(tmp_path / "m.pt", ckpt)
    with pytest.raises(OutputExistsError):
        save_checkpoint(path, ckpt, overwrite=False)


def test_missing_empty_and_corrupt_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_checkpoint(tmp_path / "absent.pt")
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        load_checkpoint(empty)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a checkpoint" * 10)
    with pytest.raises(InputError, match="corrupt"):
        model_from_checkpoint(garbage)
    # A truncated real checkpoint.
    good = save_checkpoint(tmp_path / "good.pt", make_checkpoint(_trained_tiny("unet3d")))
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError, match="corrupt"):
        load_checkpoint(truncated)


def test_foreign_files_and_mismatched_weights_are_input_errors(tmp_path: Path) -> None:
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(InputError, match="not an mslesion checkpoint"):
        load_checkpoint(other)
    ckpt = make_checkpoint(build_model("unet3d", base_channels=4, depth=2))
    ckpt["model"]["kwargs"]["base_channels"] = 8  # weights no longer fit
    bad = save_checkpoint(tmp_path / "bad.pt", ckpt)
    with pytest.raises(InputError, match="do not fit"):
        model_from_checkpoint(bad)


def test_weight_listing_reads_metrics_and_flags_bad_files(tmp_path: Path) -> None:
    from mslesion.cli.models import weight_rows

    model = build_model("unet3d", base_channels=2, depth=1)
    save_checkpoint(tmp_path / "a.pt", make_checkpoint(model, metrics={"val_dice": 0.66}))
    (tmp_path / "b.pt").write_bytes(b"junk" * 8)
    rows = weight_rows(tmp_path)
    assert [r["file"] for r in rows] == ["a.pt", "b.pt"]
    assert rows[0]["model"] == "unet3d"
    assert rows[0]["val_dice"] == pytest.approx(0.66)
    assert "corrupt" in rows[1]["error"]


def test_export_drops_training_state_and_keeps_the_model(tmp_path: Path, x: torch.Tensor) -> None:
    from typer.testing import CliRunner

    from mslesion.cli.main import app

    model = _trained_tiny("unet3d", norm="instance")
    opt = torch.optim.Adam(model.parameters())
    training = make_checkpoint(
        model,
        preprocessing=PREPROCESSING,
        metrics={"val_dice": 0.5},
        optimizer=opt.state_dict(),
        epoch=7,
        config={"seed": 0},
    )
    source = save_checkpoint(tmp_path / "best.pt", training)
    dest = tmp_path / "shipped.pt"
    result = CliRunner().invoke(app, ["models", "--export", str(source), "--output", str(dest)])
    assert result.exit_code == 0, result.output

    shipped = load_checkpoint(dest)
    assert "optimizer" not in shipped
    assert shipped["training"] == {"epoch": 7, "config": {"seed": 0}}
    assert shipped["metrics"]["val_dice"] == pytest.approx(0.5)
    assert shipped["preprocessing"] == PREPROCESSING
    assert all(
        v.dtype == torch.float16 for v in shipped["state_dict"].values() if v.is_floating_point()
    )
    rebuilt, _ = model_from_checkpoint(dest)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), model(x), rtol=0, atol=2e-2)
    # A second export to the same place needs --overwrite.
    again = CliRunner().invoke(app, ["models", "--export", str(source), "--output", str(dest)])
    assert again.exit_code != 0


def test_export_carries_threshold_and_cross_validated_metrics(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mslesion.cli.main import app
    from mslesion.cli.models import weight_rows
    from mslesion.infer.predictor import Predictor

    model = _trained_tiny("unet3d", norm="instance")
    source = save_checkpoint(
        tmp_path / "last.pt",
        make_checkpoint(model, preprocessing=PREPROCESSING, metrics={"val_dice": 0.5}),
    )
    shipped_dir = tmp_path / "weights"
    dest = shipped_dir / "m.pt"
    args = ["models", "--export", str(source), "--output", str(dest)]
    result = CliRunner().invoke(
        app, [*args, "--threshold", "0.3", "--metric", "lopo_dice=0.61", "--metric", "note=x"]
    )
    assert result.exit_code == 0, result.output
    shipped = load_checkpoint(dest)
    assert shipped["postprocessing"] == {"threshold": 0.3}
    assert shipped["metrics"]["lopo_dice"] == pytest.approx(0.61)
    assert shipped["metrics"]["note"] == "x"
    assert Predictor.from_checkpoint(dest).default_threshold == pytest.approx(0.3)
    assert Predictor.from_checkpoint(source).default_threshold == pytest.approx(0.5)
    # `mslesion models` shows the cross-validated Dice, not the run's own
    (row,) = weight_rows(shipped_dir)
    assert row["val_dice"] == pytest.approx(0.61) and row["validation"] == "lopo"
    assert row["threshold"] == pytest.approx(0.3)
    bad = CliRunner().invoke(app, [*args, "--overwrite", "--threshold", "1.5"])
    assert bad.exit_code != 0 and "--threshold must lie in (0, 1)" in str(bad.exception)
