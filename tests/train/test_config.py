"""TrainConfig from YAML + overrides; clear ConfigErrors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mslesion.errors import ConfigError
from mslesion.train.config import TrainConfig, config_from_dict, dump_config, load_config

REPO = Path(__file__).resolve().parents[2]


def test_defaults_are_the_fsh_recipe() -> None:
    cfg = load_config()
    assert cfg.data.normalization == "minmax"
    assert cfg.data.patch_size == (64, 64, 64) and cfg.data.stride == (32, 32, 32)
    assert (cfg.loss.bce_weight, cfg.loss.dice_weight) == (0.5, 0.5)
    assert cfg.optim.lr == 1e-4 and cfg.scheduler.factor == 0.5 and cfg.epochs == 70


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "configs").glob("*.yaml")))
def test_shipped_configs_load(name: str) -> None:
    cfg = load_config(REPO / "configs" / name)
    assert isinstance(cfg, TrainConfig)


def test_fsh_config_file_matches_the_defaults_where_it_should() -> None:
    cfg = load_config(REPO / "configs" / "fsh_r2attunet.yaml")
    assert cfg.optim.lr == 1e-4 and cfg.epochs == 70 and cfg.model.name == "r2attunet"


def test_overrides_set_nested_values_with_yaml_types() -> None:
    cfg = config_from_dict(
        {},
        [
            "data.patch_size=[32,32,32]",
            "optim.lr=1e-3",
            "augment.enabled=false",
            "model.kwargs.base_channels=8",
            "split.val_subjects=[patient19]",
        ],
    )
    assert cfg.data.patch_size == (32, 32, 32)
    assert cfg.optim.lr == pytest.approx(1e-3)
    assert cfg.augment.enabled is False
    assert cfg.model.kwargs == {"base_channels": 8}
    assert cfg.split.val_subjects == ("patient19",)


def test_dump_round_trips() -> None:
    cfg = config_from_dict({"epochs": 3, "data": {"synthetic": 2}})
    assert config_from_dict(yaml.safe_load(dump_config(cfg))) == cfg


@pytest.mark.parametrize(
    ("raw", "overrides", "pattern"),
    [
        ({"data": {"patchsize": [1, 2, 3]}}, [], r"data\.patchsize: unknown key"),
        ({"epoch": 3}, [], r"^epoch: unknown key"),
        ({}, ["optim.learning_rate=0.1"], r"optim\.learning_rate: unknown key"),
        ({"data": {"patch_size": "big"}}, [], r"data\.patch_size: expected a list of 3 integers"),
        ({"data": {"patch_size": [64, 64]}}, [], r"data\.patch_size: expected a list of 3"),
        ({"epochs": "ten"}, [], r"epochs: expected integer"),
        ({"augment": {"enabled": "yes please"}}, [], r"augment\.enabled: expected boolean"),
        ({"data": 5}, [], r"data: expected a mapping"),
        ({}, ["optim.lr=-1"], r"optim\.lr: must be > 0"),
        ({}, ["data.positive_share=1.5"], r"data\.positive_share: must lie in \[0, 1\]"),
        ({}, ["data.normalization=zscale"], r"data\.normalization: must be one of minmax, zscore"),
        ({}, ["scheduler.factor=1"], r"scheduler\.factor: must lie in \(0, 1\)"),
        ({}, ["scheduler.kind=cosine"], r"scheduler\.kind: must be one of plateau, poly"),
        ({}, ["device=tpu"], r"device: must be one of"),
        ({}, ["split.fold=5"], r"split\.fold: must lie in"),
        ({}, ["validation.best_metric=dsc"], r"validation\.best_metric: must be one of"),
        ({}, ["epochs"], r"key\.sub=value"),
    ],
)
def test_bad_configs_name_the_key(raw: dict, overrides: list[str], pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        config_from_dict(raw, overrides)


def test_bad_yaml_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")
