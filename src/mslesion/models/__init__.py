"""Networks: building blocks, U-Nets, F.sh 3DR2AUNet, SynergyNet; one registry for all."""

from mslesion.models.registry import (
    ModelConfig,
    ModelSpec,
    build_model,
    count_parameters,
    list_models,
    model_config,
    register_model,
)

__all__ = [
    "ModelConfig",
    "ModelSpec",
    "build_model",
    "count_parameters",
    "list_models",
    "model_config",
    "register_model",
]
