"""`mslesion train` on the command line: bad input exits 2 with one line; a tiny run works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mslesion.cli.main import app
from mslesion.errors import MSLesionError


def _main(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mslesion", *args], capture_output=True, text=True, timeout=120
    )


def test_config_error_exits_2_with_one_line(tmp_path: Path) -> None:
    result = _main("train", "--set", "optim.lr=zero", "--run-dir", str(tmp_path / "r"))
    assert result.returncode == 2
    assert "optim.lr: expected number" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "data.patchsize=[8,8,8]"], "data.patchsize: unknown key"),
        (["--fold", "7/5"], "--fold"),
        (["--fold", "0/5", "--val-subject", "s1"], "one or the other"),
        (["--resume"], "--resume needs --run-dir"),
        (["--data", "/no/such/folder"], "dataset path not found"),
    ],
)
def test_bad_options_raise_user_errors(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["train", *args])
    assert isinstance(result.exception, MSLesionError), result.output
    assert message in str(result.exception)


def test_cli_trains_a_tiny_run(tmp_path: Path, blob_dataset: Path) -> None:
    run = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--data",
            str(blob_dataset),
            "--val-subject",
            "s3",
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--model",
            "unet3d",
            "--run-dir",
            str(run),
            "--set",
            "model.kwargs={base_channels: 4, depth: 2}",
            "--set",
            "data.patch_size=[16,16,16]",
            "--set",
            "data.stride=[8,8,8]",
            "--set",
            "data.patches_per_epoch=4",
            "--set",
            "data.batch_size=4",
            "--set",
            "data.cache_dir=null",
            "--set",
            "threads=1",
            "--set",
            "augment.enabled=false",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (run / "last.pt").exists()
    text = (run / "config.yaml").read_text()
    assert "unet3d" in text and "s3" in text


def test_synergynet_recipe_is_dispatched(tmp_path: Path) -> None:
    # Without data the SynergyNet trainer (or, where it is absent, the dispatcher) says so.
    result = CliRunner().invoke(
        app, ["train", "--recipe", "synergynet", "--run-dir", str(tmp_path / "r")]
    )
    assert isinstance(result.exception, MSLesionError), result.output
    assert "synergynet" in str(result.exception).lower()
