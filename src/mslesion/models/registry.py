"""One registry of model builders (the timm pattern): ``build_model(name, **kwargs)``.

Every built model carries a :class:`ModelConfig` (its registry name and the constructor
arguments actually used) as ``model.mslesion_config``; checkpoints store it so the model is
rebuilt from the file alone (see :mod:`mslesion.models.checkpoint`).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from mslesion.errors import InputError

# Modules whose import registers the built-in models. Imported lazily so that
# ``import mslesion`` stays fast and the CLI starts quickly.
_BUILTIN_MODULES: tuple[str, ...] = (
    "mslesion.models.unet",
    "mslesion.models.r2attunet",
    "mslesion.models.synergynet",
)


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: its name, builder, one-line description and default kwargs."""

    name: str
    builder: Callable[..., nn.Module]
    description: str
    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelConfig:
    """What is needed to rebuild a model: registry name + constructor keyword arguments."""

    name: str
    kwargs: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kwargs": dict(self.kwargs)}


_REGISTRY: dict[str, ModelSpec] = {}
_loaded = False


def register_model(
    name: str, description: str, **defaults: Any
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator: register ``builder`` (a class or function returning an ``nn.Module``).

    ``defaults`` are keyword arguments applied before the caller's, e.g. a "tiny" variant of
    a network registered with smaller widths.
    """

    def decorator(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY and _REGISTRY[name].builder is not builder:
            raise ValueError(f"model name {name!r} registered twice")
        _REGISTRY[name] = ModelSpec(
            name=name, builder=builder, description=description, defaults=dict(defaults)
        )
        return builder

    return decorator


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
    _loaded = True


def list_models() -> list[ModelSpec]:
    """All registered models, sorted by name."""
    _load_builtins()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def get_spec(name: str) -> ModelSpec:
    _load_builtins()
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise InputError(None, f"unknown model {name!r}; known models: {known}")
    return _REGISTRY[name]


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered model; the result remembers its name and kwargs."""
    spec = get_spec(name)
    merged = {**spec.defaults, **kwargs}
    _check_kwargs(spec, merged)
    model = spec.builder(**merged)
    model.mslesion_config = ModelConfig(name=name, kwargs=merged)  # type: ignore[assignment]
    return model


def _check_kwargs(spec: ModelSpec, kwargs: dict[str, Any]) -> None:
    try:
        sig = inspect.signature(spec.builder)
    except (TypeError, ValueError):  # builtins without signatures
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        return
    unknown = sorted(set(kwargs) - set(sig.parameters))
    if unknown:
        raise InputError(None, f"model {spec.name!r} has no argument(s) {', '.join(unknown)}")


def model_config(model: nn.Module) -> ModelConfig:
    """The :class:`ModelConfig` of a model made by :func:`build_model`."""
    config = getattr(model, "mslesion_config", None)
    if not isinstance(config, ModelConfig):
        raise ValueError(
            "model was not created by mslesion.models.build_model; cannot checkpoint it"
        )
    return config


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
