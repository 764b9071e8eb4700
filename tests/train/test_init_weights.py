"""Fine-tuning: ``model.init_weights`` / ``--init-weights`` starts a run from given weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from mslesion.cli.main import app
from mslesion.errors import InputError, MSLesionError
from mslesion.models.checkpoint import export_weights, load_checkpoint
from mslesion.train.loop import train

REPO = Path(__file__).resolve().parents[2]

# Instance norm keeps no running statistics, so with a vanishing lr a run leaves every weight
# where it started (to 1e-12): the finished run then shows what it was initialised with.
TINY_INSTANCE = {
    "model.kwargs": "{base_channels: 4, depth: 2, t: 1, norm: instance}",
    "epochs": 1,
}


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return {k: v.float() for k, v in load_checkpoint(path)["state_dict"].items()}


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory: pytest.TempPathFactory, make_config) -> Path:
    run = tmp_path_factory.mktemp("pretrain") / "run"
    train(make_config(**TINY_INSTANCE), run)
    return run / "last.pt"


def test_run_starts_from_the_given_weights(pretrained: Path, make_config, tmp_path: Path) -> None:
    # an exported fp16 file, as shipped models are, is accepted too
    exported = export_weights(pretrained, tmp_path / "pre.pt")
    frozen = {**TINY_INSTANCE, "optim.lr": 1e-20, "seed": 7}
    train(make_config(**frozen, **{"model.init_weights": str(exported)}), tmp_path / "ft")
    train(make_config(**frozen), tmp_path / "scratch")

    start = _weights(exported)
    tuned = _weights(tmp_path / "ft" / "last.pt")
    scratch = _weights(tmp_path / "scratch" / "last.pt")
    assert all(torch.allclose(tuned[k], start[k], rtol=0, atol=1e-12) for k in start)
    # without init_weights the same seed gives other weights: the check above can fail
    assert not all(torch.allclose(scratch[k], start[k], rtol=0, atol=1e-6) for k in start)


def test_fine_tuning_moves_the_weights(pretrained: Path, make_config, tmp_path: Path) -> None:
    train(make_config(**TINY_INSTANCE, **{"model.init_weights": str(pretrained)}), tmp_path / "ft")
    start, tuned = _weights(pretrained), _weights(tmp_path / "ft" / "last.pt")
    changed = [k for k in start if not torch.equal(start[k], tuned[k])]
    assert changed, "a fine-tuning epoch with lr > 0 changed nothing"
    ckpt = load_checkpoint(tmp_path / "ft" / "last.pt")
    assert ckpt["epoch"] == 0  # its own epochs and schedule, not the pre-training's


def test_other_architecture_is_refused_before_loading_data(
    pretrained: Path, make_config, tmp_path: Path
) -> None:
    cfg = make_config(
        **{
            "model.kwargs": "{base_channels: 8, depth: 2, t: 1, norm: instance}",
            "model.init_weights": str(pretrained),
            "data.paths": "[/no/such/folder]",  # would fail later if the check came after
        }
    )
    with pytest.raises(InputError, match="base_channels"):
        train(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()


# Each shipped model and the recipe file its card says re-creates it.
RECIPES = {
    "unet3d-small-fsh": "shipped_unet3d_small.yaml",
    "r2attunet-small-fsh": "shipped_r2attunet_small.yaml",
    "unet3d-small-gpu": "gpu_unet3d_small.yaml",
    "r2attunet-small-gpu": "gpu_r2attunet_small.yaml",
}


def test_every_shipped_model_names_its_recipe() -> None:
    from mslesion.infer.weights import shipped_models

    assert sorted(shipped_models()) == sorted(RECIPES)


@pytest.mark.parametrize(("name", "recipe"), sorted(RECIPES.items()))
def test_shipped_model_name_fits_its_config(name: str, recipe: str) -> None:
    # the recipe file of the shipped model names only the kwargs it changes; the weights
    # store them merged with the registry defaults, and the two must still match
    from mslesion.train.checkpointing import initial_weights
    from mslesion.train.config import config_from_dict, read_yaml

    cfg = config_from_dict(read_yaml(REPO / "configs" / recipe), [])
    state = initial_weights(name, cfg.model.name, cfg.model.kwargs)
    assert state and all(v.dtype != torch.float16 for v in state.values())
    with pytest.raises(InputError, match=f"holds {cfg.model.name}"):
        initial_weights(name, cfg.model.name, {"norm": "batch"})


def test_cli_missing_weights_is_a_one_line_error(tmp_path: Path, blob_dataset: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--data",
            str(blob_dataset),
            "--init-weights",
            "no-such-model",
            "--run-dir",
            str(tmp_path / "r"),
        ],
    )
    assert isinstance(result.exception, MSLesionError), result.output
    assert "no shipped model named 'no-such-model'" in str(result.exception)
