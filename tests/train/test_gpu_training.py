"""A tiny run on CUDA with bf16 autocast (skipped without CUDA)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from mslesion.models.checkpoint import model_from_checkpoint
from mslesion.train.loop import train


@pytest.mark.gpu
def test_a_bf16_cuda_run_trains_and_its_checkpoint_loads_on_the_cpu(
    tmp_path: Path, make_config
) -> None:
    # the tiny R2AttU-Net of the training tests, on CUDA with bf16 autocast
    result = train(make_config(device="cuda", amp="true"), tmp_path / "run")
    assert result.epochs_done == 2
    assert math.isfinite(result.last_metrics["train_loss"])
    assert math.isfinite(result.last_metrics["val_dice"])
    assert next(result.model.parameters()).device.type == "cuda"
    model, _ = model_from_checkpoint(tmp_path / "run" / "last.pt")
    assert all(p.device.type == "cpu" and p.dtype == torch.float32 for p in model.parameters())
    with torch.inference_mode():
        assert torch.isfinite(model(torch.rand(1, 1, 16, 16, 16))).all()
