"""Filling the volume cache before parallel runs (``mslesion train --prepare-only``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mslesion.cli.main import app
from mslesion.errors import MSLesionError
from mslesion.train import loop
from mslesion.train.prepare import prepare_cache, synthetic_train_seeds, synthetic_val_seeds

# tiny synthetic volumes (3 mm grid), 4 for training and so 1 for validation
SYNTH = {"data.synthetic": 4, "data.synth": "{voxel_size_mm: 3.0, lesion_load: low}"}


def _entries(cache: Path) -> int:
    return sum(1 for d in cache.iterdir() if (d / ".done").exists())


@pytest.mark.parametrize("workers", [1, 2])
def test_the_cache_holds_every_volume_any_fold_reads(
    tmp_path: Path, make_config, workers: int
) -> None:
    cfg = make_config(**SYNTH)
    cases = loop.gather_cases(cfg.data.paths)
    count = prepare_cache(cfg, cases, tmp_path / "cache", workers)
    assert count == len(cases) + 4 + 1 == _entries(tmp_path / "cache")
    assert len(synthetic_val_seeds(cfg)) == 1
    assert not set(synthetic_val_seeds(cfg)) & set(synthetic_train_seeds(cfg))


def test_each_fold_and_the_final_run_then_only_read_it(
    tmp_path: Path, make_config, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    cfg = make_config(**SYNTH)
    cases = loop.gather_cases(cfg.data.paths)
    prepare_cache(cfg, cases, cache)

    def no_build(*args, **kwargs):
        raise AssertionError("a volume was built again")

    monkeypatch.setattr("mslesion.synth.generate_case", no_build)
    monkeypatch.setattr("mslesion.data.dataset._normalize", no_build)
    for fold in (0, 1):
        folded = make_config(
            **SYNTH, **{"split.val_subjects": "[]", "split.fold": fold, "split.n_folds": 2}
        )
        train_cases, val_cases = loop.split_cases(cases, folded)
        train, val = loop.load_volumes(train_cases, val_cases, folded, cache)
        assert len(train) == len(train_cases) + 4 and len(val) == len(val_cases) > 0
    # a run that holds out no real case validates on the synthetic validation volume
    _, val = loop.load_volumes(cases, [], cfg, cache)
    assert [v.source for v in val] == ["synthetic"]


def test_cli_prepare_only_fills_the_cache_and_trains_nothing(
    tmp_path: Path, blob_dataset: Path
) -> None:
    run, cache = tmp_path / "run", tmp_path / "cache"
    args = ["train", "--data", str(blob_dataset), "--run-dir", str(run), "--prepare-only"]
    result = CliRunner().invoke(app, [*args, "--set", f"data.cache_dir={cache}"])
    assert result.exit_code == 0, result.output
    assert "cache ready" in result.output and _entries(cache) == 4
    assert not run.exists()
    result = CliRunner().invoke(app, [*args, "--set", "data.cache_dir=null"])
    assert isinstance(result.exception, MSLesionError)
    assert "data.cache_dir is null" in str(result.exception)
