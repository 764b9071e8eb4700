"""The registry, and ONE test parametrized over every registered model (the timm habit)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
import torch
from torch import nn

from mslesion.errors import InputError
from mslesion.models import build_model, count_parameters, list_models, model_config
from mslesion.models.registry import ModelSpec, get_spec, register_model

ODD_SIZE = (13, 15, 11)  # no side a multiple of 2, 4 or 8


def tiny_kwargs(spec: ModelSpec) -> dict[str, Any]:
    """The smallest width/depth each builder accepts, so every model runs in well under 1 s."""
    params = inspect.signature(spec.builder).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    wanted = {"base_channels": 4, "depth": 3}  # depth 3: SynergyNet needs d1..d3
    return {k: v for k, v in wanted.items() if accepts_any or k in params}


def logits_of(output: Any) -> torch.Tensor:
    return output["logits"] if isinstance(output, dict) else output


def blob_truth(batch: int) -> torch.Tensor:
    """(B, 1, *ODD_SIZE) binary truth with two box-shaped lesions per sample."""
    truth = torch.zeros(batch, 1, *ODD_SIZE)
    truth[:, :, 1:5, 2:6, 1:5] = 1
    truth[:, :, 8:11, 9:13, 6:9] = 1
    return truth


def training_loss(model: nn.Module, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """BCE on the logits, plus the ``forward_train`` loss terms of every (sub)module having one.

    Detection branches (SynergyNet's Mask R-CNN) are trained by their own losses, not
    through the fused logits; an ensemble's members likewise.
    """
    truth = blob_truth(x.shape[0])
    loss = nn.functional.binary_cross_entropy_with_logits(logits, truth)
    for module in model.modules():
        forward_train = getattr(module, "forward_train", None)
        if callable(forward_train):
            loss = loss + sum(forward_train(x, truth).values())
    return loss


@pytest.mark.parametrize("name", [spec.name for spec in list_models()])
def test_every_registered_model(name: str) -> None:
    spec = get_spec(name)
    assert spec.description.strip(), "every model needs a one-line description"
    assert "\n" not in spec.description
    torch.manual_seed(0)
    model = build_model(name, **tiny_kwargs(spec))
    assert count_parameters(model) > 0

    # Shape: logits (B, 1, X, Y, Z) for odd sizes, padding handled inside the model.
    x = torch.randn(2, 1, *ODD_SIZE)
    model.train()
    logits = logits_of(model(x))
    assert logits.shape == (2, 1, *ODD_SIZE)

    # Gradients reach every parameter from the objective the model is trained with.
    training_loss(model, x, logits).backward()
    missing = [
        n
        for n, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not torch.any(p.grad != 0))
    ]
    assert not missing, f"no gradient reaches: {missing[:5]}"

    # Eval mode: deterministic, same shape, logits finite.
    model.eval()
    with torch.no_grad():
        a = logits_of(model(x))
        b = logits_of(model(x))
        single = logits_of(model(x[:1]))
    assert a.shape == (2, 1, *ODD_SIZE)
    assert torch.isfinite(a).all()
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    # Eval output of a sample does not depend on the rest of the batch.
    torch.testing.assert_close(single, a[:1], rtol=1e-4, atol=1e-5)


def test_builtin_models_are_registered() -> None:
    names = {spec.name for spec in list_models()}
    assert {"unet3d", "resunet3d", "r2attunet", "unet3d-small", "r2attunet-small"} <= names
    assert [s.name for s in list_models()] == sorted(names)


def test_build_model_records_name_and_kwargs() -> None:
    model = build_model("r2attunet-small", depth=2, t=1)
    config = model_config(model)
    assert config.name == "r2attunet-small"
    # Preset defaults are merged under the caller's kwargs.
    assert config.kwargs == {"base_channels": 8, "depth": 2, "t": 1}
    assert model.encoder.stages[0].recurrent[0].t == 1


def test_presets_are_smaller_than_full_models() -> None:
    for small, full in [("unet3d-small", "unet3d"), ("r2attunet-small", "r2attunet")]:
        assert count_parameters(build_model(small)) * 8 < count_parameters(build_model(full))


def test_unknown_model_and_argument_are_input_errors() -> None:
    with pytest.raises(InputError, match="unknown model 'nope'.*unet3d"):
        build_model("nope")
    with pytest.raises(InputError, match="no argument"):
        build_model("unet3d", widht=3)


def test_model_config_requires_registry_model() -> None:
    with pytest.raises(ValueError, match="build_model"):
        model_config(nn.Conv3d(1, 1, 1))


def test_register_twice_with_another_builder_fails() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        register_model("unet3d", "dup")(nn.Identity)


def test_resunet_forward_features() -> None:
    torch.manual_seed(0)
    model = build_model("resunet3d", base_channels=4, depth=3).eval()
    x = torch.randn(1, 1, 19, 23, 17)
    with torch.no_grad():
        feats = model.forward_features(x)
        logits = model(x)
    torch.testing.assert_close(feats["logits"], logits)
    assert model.feature_channels == {"d1": 4, "d2": 8, "d3": 16}
    expected = {"d1": (19, 23, 17), "d2": (10, 12, 9), "d3": (5, 6, 5)}
    for key, size in expected.items():
        assert feats[key].shape == (1, model.feature_channels[key], *size)


def test_models_command_json_lists_every_model() -> None:
    import json

    from typer.testing import CliRunner

    from mslesion.cli.main import app

    result = CliRunner().invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    by_name = {row["name"]: row for row in listed["models"]}
    assert set(by_name) == {spec.name for spec in list_models()}
    assert by_name["unet3d"]["parameters"] == count_parameters(build_model("unet3d"))
    assert by_name["r2attunet"]["description"] == get_spec("r2attunet").description
    assert isinstance(listed["weights"], list)
