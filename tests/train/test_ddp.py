"""Two CPU processes with gloo: DDP keeps the ranks' weights equal.

The ranks are forked (not spawned) from a parent that has already imported torch, MONAI and
the training code, so the test does not pay two fresh ~7 s imports; PyTorch's DataLoader
workers are forked the same way.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mslesion.train.config import TrainConfig


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(rank: int, world: int, port: int, cfg: TrainConfig, run: str, out: str) -> None:
    os.environ.update(
        {
            "RANK": str(rank),
            "WORLD_SIZE": str(world),
            "LOCAL_RANK": str(rank),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
    )
    from mslesion.train.loop import train

    try:
        result = train(cfg, run)
        torch.save(
            {k: v.detach().clone() for k, v in result.model.state_dict().items()},
            f"{out}/rank{rank}.pt",
        )
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_two_gloo_ranks_hold_identical_weights(tmp_path: Path, make_config) -> None:
    import monai.inferers  # noqa: F401  (imported once here, inherited by the forked ranks)
    import monai.transforms  # noqa: F401
    from torch.utils.tensorboard import SummaryWriter  # noqa: F401

    import mslesion.train.loop  # noqa: F401
    import mslesion.train.validate  # noqa: F401

    cfg = make_config(epochs=1, **{"data.patches_per_epoch": 16, "augment.elastic_prob": 0.0})
    run = tmp_path / "run"
    mp.start_processes(
        _worker,
        args=(2, _free_port(), cfg, str(run), str(tmp_path)),
        nprocs=2,
        join=True,
        # forked children of a process that has initialised CUDA (the GPU tests before this
        # one, on a GPU machine) fail in the optimizer's CUDA check: spawn them there
        start_method="spawn" if torch.cuda.is_initialized() else "fork",
    )
    w0 = torch.load(tmp_path / "rank0.pt")
    w1 = torch.load(tmp_path / "rank1.pt")
    trainable = [k for k in w0 if "running" not in k and "num_batches" not in k]
    assert trainable
    for key in trainable:
        assert torch.equal(w0[key], w1[key]), key
    # Steps were taken (weights moved from the seeded initialisation) and only rank 0 wrote.
    from mslesion.models import build_model

    torch.manual_seed(cfg.seed)
    init = build_model(cfg.model.name, **cfg.model.kwargs).state_dict()
    assert any(not torch.equal(init[k], w0[k]) for k in trainable)
    assert (run / "last.pt").exists() and (run / "metrics.csv").exists()
