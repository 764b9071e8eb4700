"""Speed and peak memory of `mslesion segment` next to an nnU-Net-style reference, in one run.

Reference: a plain 3D U-Net of ~5.7M parameters (``unet3d``, base 16) over the whole
182x218x182 scan with MONAI sliding windows of 64^3, overlap 0.5, Gaussian blending, under
``torch.no_grad`` (what nnU-Net does on a CPU). Then the levers are added one at a time on
the same model and weights, and finally the full ``segment`` path (load, pass-through check,
normalisation, network, threshold, lesion table with McDonald locations, overview PNG).
Each configuration runs in its own subprocess so that its peak RSS is its own.

    .venv/bin/python benchmarks/segment_speed.py [--scan FLAIR.nii.gz] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

# name -> (brain-box crop, roi, overlap, whole volume, channels-last + inference_mode)
LEVERS: dict[str, tuple[bool, int, float, bool, bool]] = {
    "reference (64^3, overlap 0.5, full FOV)": (False, 64, 0.5, False, False),
    "+ brain-box crop": (True, 64, 0.5, False, False),
    "+ overlap 0.25": (True, 64, 0.25, False, False),
    "+ 128^3 windows": (True, 128, 0.25, False, False),
    "+ channels-last-3d, inference_mode": (True, 128, 0.25, False, True),
    "+ whole brain box in one pass": (True, 128, 0.25, True, True),
}


def default_scan() -> Path:
    from mslesion.paths import shared_data_dir

    root = shared_data_dir()
    if root is not None:
        for cand in sorted((root / "real" / "MSLesSeg").rglob("*_FLAIR.nii.gz")):
            return cand
    raise SystemExit("no scan found: pass --scan FLAIR.nii.gz (182x218x182)")


def build_reference_model():  # noqa: ANN201
    import torch

    from mslesion.models import build_model

    torch.manual_seed(0)
    return build_model("unet3d", base_channels=16).eval()


def run_lever(name: str, scan: Path, threads: int) -> dict[str, float]:
    """Network stage only, on the normalised scan, with one lever set."""
    import torch
    from monai.inferers import sliding_window_inference

    from mslesion.infer.crop import brain_box
    from mslesion.io.nifti import load_volume
    from mslesion.preprocess.intensity import minmax_normalize

    torch.set_num_threads(threads)
    crop, roi, overlap, whole, fast = LEVERS[name]
    vol = load_volume(scan)
    normed, _ = minmax_normalize(vol.data)
    box = brain_box(vol.data > 0, 4) if crop else tuple(slice(0, n) for n in vol.shape)
    normed = normed[box]
    model = build_reference_model()
    x = torch.from_numpy(np.ascontiguousarray(normed))[None, None]
    if fast:
        model = model.to(memory_format=torch.channels_last_3d)
        x = x.contiguous(memory_format=torch.channels_last_3d)
    ctx = torch.inference_mode() if fast else torch.no_grad()
    t0 = time.perf_counter()
    with ctx:
        if whole:
            out = model(x)
        else:
            out = sliding_window_inference(
                x, (roi,) * 3, 1, model, overlap=overlap, mode="gaussian"
            )
    seconds = time.perf_counter() - t0
    prob = np.zeros(vol.shape, dtype=np.float16)
    prob[box] = torch.sigmoid(out).float().numpy()[0, 0]
    np.save(f"/tmp/segment_speed_{list(LEVERS).index(name)}.npy", prob)
    return {"seconds": seconds, "shape": list(normed.shape)}


def run_segment(scan: Path, threads: int) -> dict[str, float]:
    """End-to-end `segment` on one scan via the CLI's own code path (files written to /tmp)."""
    import tempfile

    from mslesion.infer.postprocess import PostprocessConfig
    from mslesion.infer.predictor import InferenceConfig, Predictor
    from mslesion.infer.segment import segment_volume
    from mslesion.io.nifti import load_volume, save_mask, save_probability
    from mslesion.models.checkpoint import make_checkpoint

    t0 = time.perf_counter()
    ckpt = make_checkpoint(build_reference_model(), preprocessing={"patch_size": [128, 128, 128]})
    config = InferenceConfig(overlap=0.25, threads=threads, whole_volume_max_voxels=200**3)
    predictor = Predictor.from_checkpoint(ckpt, config)
    vol = load_volume(scan)
    result = segment_volume(predictor, vol, None, PostprocessConfig(min_lesion_size_mm3=3.0))
    with tempfile.TemporaryDirectory() as tmp:
        save_mask(Path(tmp) / "m.nii.gz", result.mask, vol.affine, reference=vol)
        save_probability(Path(tmp) / "p.nii.gz", result.probability, vol.affine, reference=vol)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, **{f"t_{k}": v for k, v in result.prediction.timings.items()}}


def child(kind: str, scan: Path, threads: int) -> None:
    out = run_segment(scan, threads) if kind == "segment" else run_lever(kind, scan, threads)
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print("RESULT " + json.dumps(out))


def spawn(kind: str, scan: Path, threads: int) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", kind, "--scan", str(scan)]
    cmd += ["--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{kind} failed:\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scan", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", default=None)
    args = parser.parse_args()
    scan = args.scan or default_scan()
    if args.child:
        child(args.child, scan, args.threads)
        return
    import torch

    from mslesion.models import count_parameters

    print(f"scan {scan.name}; torch {torch.__version__}; {args.threads} threads")
    n_params = count_parameters(build_reference_model()) / 1e6
    print(f"model unet3d base 16: {n_params:.2f}M parameters\n")
    rows = []
    for name in LEVERS:
        res = spawn(name, scan, args.threads)
        rows.append((name, res))
        print(f"  measured {name}: {res['seconds']:.1f} s", flush=True)
    seg = spawn("segment", scan, args.threads)
    ref = rows[0][1]["seconds"]
    ref_prob = np.load("/tmp/segment_speed_0.npy").astype(np.float32)
    from mslesion.io.nifti import load_volume

    brain = load_volume(scan).data > 0
    print("\n| configuration | network input | seconds | speed-up | peak RSS GB | mean abs Δp |")
    print("|---|---|---:|---:|---:|---:|")
    for i, (name, res) in enumerate(rows):
        prob = np.load(f"/tmp/segment_speed_{i}.npy").astype(np.float32)
        delta = float(np.mean(np.abs(prob[brain] - ref_prob[brain]))) if i else 0.0
        shape = "x".join(map(str, res["shape"]))
        print(
            f"| {name} | {shape} | {res['seconds']:.1f} | {ref / res['seconds']:.1f}x | "
            f"{res['peak_rss_gb']:.2f} | {delta:.4f} |"
        )
    stages = ", ".join(f"{k[2:]} {v:.1f}" for k, v in seg.items() if k.startswith("t_"))
    print(
        f"| **`segment` end to end** (load ... PNG) | brain box | {seg['seconds']:.1f} | "
        f"{ref / seg['seconds']:.1f}x | {seg['peak_rss_gb']:.2f} | |"
    )
    print(f"\nsegment stages (s): {stages}")


if __name__ == "__main__":
    main()
