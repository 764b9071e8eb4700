"""Speed and memory of the registered networks: parameters, forward, forward+backward.

Prints a Markdown table (one row per model x input x mode) with ratios to the plain U-Net of
the same width measured in the same run.

    python benchmarks/models.py                         # CPU, the built-in models, 2 threads
    python benchmarks/models.py --models unet3d-small r2attunet-small --shapes 1x182x218x182
    python benchmarks/models.py --device cuda           # + bf16/fp16 autocast, channels_last_3d,
                                                        #   torch.compile

CPU peak memory is the peak resident set size above the level just before the call, sampled
every 2 ms by a thread (torch's CPU allocations are invisible to tracemalloc); CUDA peak
memory is ``torch.cuda.max_memory_allocated``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from mslesion.models import build_model, count_parameters

DEFAULT_MODELS = (
    "unet3d",
    "resunet3d",
    "r2attunet",
    "unet3d-small",
    "resunet3d-small",
    "r2attunet-small",
)
DEFAULT_SHAPES = ("2x64x64x64", "1x128x160x128")
BASELINE = {"": "unet3d", "-small": "unet3d-small"}  # reference model per width family


@dataclass(frozen=True)
class Result:
    model: str
    params: int
    shape: str
    mode: str
    forward_s: float | None
    train_s: float | None
    forward_mb: float | None
    train_mb: float | None


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


@contextlib.contextmanager
def peak_rss_above_baseline(out: list[float]) -> Iterator[None]:
    """Append the peak RSS (MB) above the starting level reached inside the block."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand freed memory back so the baseline is low
    base = rss_mb()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb())
            time.sleep(0.002)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        out.append(max(peak[0], rss_mb()) - base)


def measure(fn: Callable[[], None], device: torch.device, repeats: int) -> tuple[float, float]:
    """Median seconds of ``fn`` after one warm-up call, and its peak memory (MB)."""
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    times, mem = [], []
    for _ in range(repeats):
        if device.type == "cuda":
            start = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        else:
            with peak_rss_above_baseline(mem):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
    if device.type == "cuda":
        peak = (torch.cuda.max_memory_allocated() - before) / 1e6
    else:
        peak = max(mem)
    return statistics.median(times), peak


def run_one(
    name: str, shape: tuple[int, ...], mode: str, device: torch.device, args: argparse.Namespace
) -> Result:
    torch.manual_seed(0)
    model = build_model(name).to(device)
    params = count_parameters(model)
    x = torch.randn(shape[0], 1, *shape[1:], device=device)
    if mode == "channels_last_3d":
        model = model.to(memory_format=torch.channels_last_3d)
        x = x.contiguous(memory_format=torch.channels_last_3d)
    runner = torch.compile(model) if mode == "compile" else model
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(mode)
    autocast = (
        (lambda: torch.autocast(device.type, dtype=dtype)) if dtype else contextlib.nullcontext
    )

    def forward() -> None:
        model.eval()
        with torch.no_grad(), autocast():
            runner(x)

    def train_step() -> None:
        model.train()
        model.zero_grad(set_to_none=True)
        with autocast():
            loss = runner(x).float().square().mean()
        loss.backward()

    fwd_s, fwd_mb = measure(forward, device, args.repeats)
    train_s = train_mb = None
    if not args.no_backward and shape[0] * shape[1] * shape[2] * shape[3] <= args.max_train_voxels:
        train_s, train_mb = measure(train_step, device, args.repeats)
    return Result(name, params, "x".join(map(str, shape)), mode, fwd_s, train_s, fwd_mb, train_mb)


def ratio(value: float | None, ref: float | None) -> str:
    return "" if value is None or not ref else f"{value / ref:.2f}x"


def markdown(results: list[Result]) -> str:
    index = {(r.model, r.shape, r.mode): r for r in results}
    lines = [
        "| model | params | input (BxXxYxZ) | mode | forward s | fwd+bwd s | forward MB |"
        " fwd+bwd MB | fwd vs U-Net | fwd+bwd vs U-Net |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]

    def fmt(v: float | None, digits: int) -> str:
        return "-" if v is None else f"{v:.{digits}f}"

    for r in results:
        base_name = BASELINE["-small" if r.model.endswith("-small") else ""]
        ref = index.get((base_name, r.shape, r.mode))
        lines.append(
            f"| {r.model} | {r.params / 1e6:.2f} M | {r.shape} | {r.mode} | "
            f"{fmt(r.forward_s, 3)} | {fmt(r.train_s, 3)} | {fmt(r.forward_mb, 0)} | "
            f"{fmt(r.train_mb, 0)} | {ratio(r.forward_s, ref and ref.forward_s)} | "
            f"{ratio(r.train_s, ref and ref.train_s)} |"
        )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--shapes", nargs="+", default=list(DEFAULT_SHAPES), help="BxXxYxZ")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--modes",
        nargs="+",
        default=None,
        help="default: fp32 on CPU; fp32 bf16 fp16 channels_last_3d compile on CUDA",
    )
    parser.add_argument("--no-backward", action="store_true")
    parser.add_argument(
        "--max-train-voxels",
        type=int,
        default=10**9,
        help="skip fwd+bwd above this many input voxels (CPU time/memory guard)",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    modes = args.modes or (
        ["fp32", "bf16", "fp16", "channels_last_3d", "compile"]
        if device.type == "cuda"
        else ["fp32"]
    )
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        where = torch.cuda.get_device_name(device)
    else:
        where = f"CPU, {args.threads} thread(s)"
    print(f"# torch {torch.__version__}, {where}, median of {args.repeats} after 1 warm-up\n")
    results = []
    for shape_text in args.shapes:
        shape = tuple(int(s) for s in shape_text.lower().split("x"))
        for mode in modes:
            for name in args.models:
                try:
                    results.append(run_one(name, shape, mode, device, args))
                # e.g. out of memory: report it and go on with the next model
                except (RuntimeError, ValueError, MemoryError) as exc:
                    print(f"{name} {shape_text} {mode}: {str(exc).splitlines()[0][:120]}")
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                print(f"done {name} {shape_text} {mode}", flush=True)
    print()
    print(markdown(results))


if __name__ == "__main__":
    main()
