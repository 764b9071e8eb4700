"""`mslesion train --recipe synergynet` with folds, the Ensemble baseline and crossval."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from mslesion.cli.main import app
from mslesion.errors import MSLesionError

TINY = [
    "--set",
    "synergynet.crop_size=[16,16,16]",
    "--set",
    "synergynet.stage_epochs=[1,1,1,1]",
    "--set",
    "synergynet.iterations_per_epoch=1",
    "--set",
    "synergynet.jitter=1",
    "--set",
    "data.cache_dir=null",
    "--device",
    "cpu",
]


def _train(data: Path, run: Path, model: str, kwargs: str) -> None:
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--recipe",
            "synergynet",
            "--data",
            str(data),
            "--fold",
            "1/4",
            "--model",
            model,
            "--run-dir",
            str(run),
            "--set",
            f"synergynet.model_kwargs={kwargs}",
            *TINY,
        ],
    )
    assert result.exit_code == 0, result.output + repr(result.exception)


def test_folds_ensemble_and_crossval(tmp_path: Path, blob_dataset: Path) -> None:
    tiny = "{base_channels: 2, depth: 3, norm: instance}"
    runs = {name: tmp_path / name for name in ("synergynet", "unet3d", "maskrcnn3d")}
    for name, run in runs.items():
        _train(blob_dataset, run, name, tiny)
        config = yaml.safe_load((run / "config.yaml").read_text())
        assert config["split"]["fold"] == 1 and config["split"]["n_folds"] == 4
        assert config["data"]["normalization"] == "zscore"
        assert (run / "last.pt").exists()

    ensemble = tmp_path / "ensemble"
    result = CliRunner().invoke(
        app,
        [
            "models",
            "--ensemble",
            str(runs["unet3d"]),
            str(runs["maskrcnn3d"]),
            "--output",
            str(ensemble),
        ],
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert (ensemble / "last.pt").exists() and (ensemble / "config.yaml").exists()

    out = tmp_path / "cv"
    args = ["crossval", "--data", str(blob_dataset), "-o", str(out)]
    args += [f"{name}={run}" for name, run in {**runs, "ensemble": ensemble}.items()]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    rows = (out / "cases.csv").read_text().splitlines()
    # One held-out case (fold 1 of 4 subjects), scored for each of the four methods.
    methods = {line.split(",")[0] for line in rows[1:]}
    assert methods == {"synergynet", "unet3d", "maskrcnn3d", "ensemble"}, rows[:3]
    assert len(rows) - 1 == 4


def test_ensemble_refuses_runs_with_other_held_out_subjects(
    tmp_path: Path, blob_dataset: Path
) -> None:
    tiny = "{base_channels: 2, depth: 3, norm: instance}"
    _train(blob_dataset, tmp_path / "u", "unet3d", tiny)
    other = tmp_path / "m"
    _train(blob_dataset, other, "maskrcnn3d", tiny)
    config = yaml.safe_load((other / "config.yaml").read_text())
    config["split"]["fold"] = 2
    (other / "config.yaml").write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(
        app,
        ["models", "--ensemble", str(tmp_path / "u"), str(other), "--output", str(tmp_path / "e")],
    )
    assert isinstance(result.exception, MSLesionError)
    assert "split differs" in str(result.exception)
    assert not (tmp_path / "e").exists()
