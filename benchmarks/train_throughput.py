"""Patches per second of the training data path and of the training step.

    .venv/bin/python benchmarks/train_throughput.py --patch 64 --base-channels 16 --steps 4

Loader: lesion-aware 64^3 patches + MONAI augmentation from a 182x218x182 volume held in RAM
and from the float16 memmap cache (what `mslesion train` reads). Step: forward + backward +
Adam on (B, 1, P, P, P) patches, on the CPU and, where CUDA exists, on the GPU with bf16
autocast (GPU utilisation from ``torch.cuda.utilization()`` when available).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time

import numpy as np
import torch

from mslesion.data.augment import AugmentConfig, build_augmentation
from mslesion.data.cache import cached_arrays
from mslesion.data.dataset import (
    PatchDataset,
    SamplingSettings,
    VolumeData,
    attach_indices,
    plan_epoch,
)
from mslesion.losses import BCEDiceLoss
from mslesion.models import build_model, count_parameters


def fake_volume(
    shape: tuple[int, int, int] = (182, 218, 182), seed: int = 0
) -> dict[str, np.ndarray]:
    """An ellipsoid brain with cubic 'lesions' at a realistic size (contents do not matter here)."""
    gen = np.random.default_rng(seed)
    grid = np.ogrid[tuple(slice(0, s) for s in shape)]
    centre = [s / 2 for s in shape]
    brain = (
        sum(((g - c) / (0.42 * s)) ** 2 for g, c, s in zip(grid, centre, shape, strict=True)) <= 1
    )
    mask = np.zeros(shape, np.uint8)
    for _ in range(30):
        c = gen.integers(40, 140, 3)
        mask[c[0] : c[0] + 5, c[1] : c[1] + 5, c[2] : c[2] + 5] = 1
    mask &= brain.astype(np.uint8)
    image = (brain * gen.uniform(0.3, 0.5, shape) + mask * 0.4).astype(np.float32)
    return {"image": image, "mask": mask, "brain": brain.astype(np.uint8)}


def loader_rate(arrays: dict[str, np.ndarray], patch: int, n: int, augment: bool) -> float:
    vol = VolumeData("bench", "bench", arrays["image"], arrays["mask"], arrays["brain"])
    sampling = SamplingSettings(patch_size=(patch,) * 3, stride=(patch // 2,) * 3)
    attach_indices([vol], sampling)
    plan = plan_epoch([vol], n, sampling, seed=0, epoch=0)
    ds = PatchDataset(
        [vol], plan, (patch,) * 3, build_augmentation(AugmentConfig()) if augment else None
    )
    ds[0]  # warm-up (lazy imports)
    t0 = time.perf_counter()
    for i in range(len(ds)):
        ds[i]
    return len(ds) / (time.perf_counter() - t0)


def step_rate(
    model_name: str, kwargs: dict, patch: int, batch: int, steps: int, device: torch.device
) -> tuple[float, float | None]:
    model = build_model(model_name, **kwargs).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = BCEDiceLoss()
    x = torch.rand(batch, 1, patch, patch, patch, device=device)
    y = (torch.rand_like(x) > 0.95).float()
    amp = torch.bfloat16 if device.type == "cuda" else None
    util = []

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            logits = model(x)
        loss_fn(logits, y).total.backward()
        opt.step()

    step()  # warm-up (cuDNN autotune, allocations)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
        if device.type == "cuda":
            # torch.cuda.utilization needs pynvml, absent on some installs.
            with contextlib.suppress(Exception):
                util.append(torch.cuda.utilization())
    if device.type == "cuda":
        torch.cuda.synchronize()
    rate = steps * batch / (time.perf_counter() - t0)
    print(f"  params: {count_parameters(model):,}")
    return rate, (float(np.mean(util)) if util else None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="r2attunet")
    ap.add_argument("--base-channels", type=int, default=16)
    ap.add_argument("--patch", type=int, default=64)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--loader-patches", type=int, default=24)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, threads {args.threads}, "
        f"patch {args.patch}^3, batch {args.batch}"
    )

    arrays = fake_volume()
    with tempfile.TemporaryDirectory() as tmp:
        cached = cached_arrays(tmp, "bench", lambda: arrays)
        for name, src, aug in (
            ("RAM, no augmentation", arrays, False),
            ("memmap f16, no augmentation", cached, False),
            ("memmap f16, augmentation", cached, True),
        ):
            print(
                f"loader ({name}): "
                f"{loader_rate(src, args.patch, args.loader_patches, aug):.1f} patches/s"
            )

    kwargs = {"base_channels": args.base_channels}
    cpu, _ = step_rate(args.model, kwargs, args.patch, args.batch, args.steps, torch.device("cpu"))
    print(f"train step CPU fp32: {cpu:.2f} patches/s")
    if torch.cuda.is_available():
        gpu, util = step_rate(
            args.model, kwargs, args.patch, args.batch * 4, args.steps * 5, torch.device("cuda")
        )
        print(
            f"train step CUDA bf16 ({torch.cuda.get_device_name()}): {gpu:.1f} patches/s "
            f"({gpu / cpu:.0f}x CPU); GPU utilisation {util if util is not None else 'n/a'}%"
        )
    else:
        print("train step CUDA: no CUDA device here")


if __name__ == "__main__":
    main()
