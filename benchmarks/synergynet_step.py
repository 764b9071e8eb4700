"""Seconds per SynergyNet training step (all six loss terms), RPN matching by anchor grid vs
the general matcher, measured in the same process on the same batch.

The grid path (``targets.AnchorGrid``) compares each lesion only with the anchors centred near
it; the general path compares every anchor near any lesion with every lesion. Both assign the
same anchors (tests/models/maskrcnn3d/test_targets.py), so the losses printed must agree.

    python benchmarks/synergynet_step.py                      # CPU, 64x80x64 crop, 25 lesions
    python benchmarks/synergynet_step.py --crop 128 160 128 --device cuda
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from mslesion.models import build_model
from mslesion.models.maskrcnn3d import model as branch_model
from mslesion.models.maskrcnn3d.losses import LOSS_TERMS


def blob_batch(crop: tuple[int, int, int], lesions: int, device: str, seed: int = 0):
    """(image, truth) of shape (1, 1, *crop): ``lesions`` cubes of edge 3-7 voxels on noise."""
    rng = np.random.default_rng(seed)
    truth = torch.zeros(1, 1, *crop)
    for _ in range(lesions):
        centre = rng.integers(5, np.array(crop) - 5)
        r = int(rng.integers(1, 4))
        x, y, z = (int(c) for c in centre)
        truth[0, 0, x - r : x + r + 1, y - r : y + r + 1, z - r : z + r + 1] = 1
    image = torch.randn(1, 1, *crop, generator=torch.Generator().manual_seed(seed)) + 2 * truth
    return image.to(device), truth.to(device)


def time_steps(model, image, truth, repeats: int) -> tuple[float, dict[str, float]]:
    active = frozenset(LOSS_TERMS)

    def step() -> dict[str, float]:
        losses = model.forward_train(image, truth, active)
        sum(losses.values()).backward()
        return {k: float(v.detach()) for k, v in losses.items()}

    step()  # warm-up (allocations, cuDNN algorithm choice)
    times = []
    for _ in range(repeats):
        if image.is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        losses = step()
        if image.is_cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times), losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crop", type=int, nargs=3, default=(64, 80, 64))
    parser.add_argument("--lesions", type=int, default=25)
    parser.add_argument("--base-channels", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model("synergynet", base_channels=args.base_channels, norm="instance")
    model = model.to(args.device)
    image, truth = blob_batch(tuple(args.crop), args.lesions, args.device)

    grid_s, grid_losses = time_steps(model, image, truth, args.repeats)
    grid_rpn = branch_model.rpn_losses
    # The reference: the same call without the feature shape, i.e. the general matcher.
    branch_model.rpn_losses = lambda *a: grid_rpn(*a[:5])
    try:
        general_s, general_losses = time_steps(model, image, truth, args.repeats)
    finally:
        branch_model.rpn_losses = grid_rpn
    print(
        f"crop {tuple(args.crop)}, {args.lesions} lesions, {args.device}, median of {args.repeats}"
    )
    print("| matching | s/step | rpn_cls | rpn_box |\n|---|--:|--:|--:|")
    for name, s, losses in (
        ("anchor grid", grid_s, grid_losses),
        ("general (reference)", general_s, general_losses),
    ):
        print(f"| {name} | {s:.2f} | {losses['rpn_cls']:.4f} | {losses['rpn_box']:.4f} |")
    print(f"speed-up: {general_s / grid_s:.2f}x")


if __name__ == "__main__":
    main()
