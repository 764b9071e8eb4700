"""Time the evaluation of one full 1 mm case (182x218x182) with hundreds of lesions.

Truth: the open_ms_data GOLD_STANDARD mask with the most lesions (or ``--mask``).
Prediction: a perturbed copy (shifted, some lesions dropped, some dilated, spurious blobs
added) and a matching probability map. Prints the median time of each part over ``--repeat``
runs, single-threaded. Target (issue 5): everything but HD95 in < 2 s on one core.

    .venv/bin/python benchmarks/evaluate_speed.py [--mask FILE] [--repeat 3]
"""

from __future__ import annotations

import os

# One core, as the target says: pin BLAS/OpenMP pools before numpy loads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402

from mslesion.io.nifti import load_mask  # noqa: E402
from mslesion.metrics.case import EvalConfig, evaluate_case  # noqa: E402
from mslesion.metrics.detection import lesion_average_precision, voxel_average_precision  # noqa: E402
from mslesion.metrics.lesion import label_lesions, lesion_metrics  # noqa: E402
from mslesion.metrics.voxel import surface_metrics, voxel_metrics  # noqa: E402
from mslesion.paths import require_shared_data  # noqa: E402


def pick_mask(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    root = require_shared_data() / "real/open_ms_data/cross_sectional/MNI"
    masks = sorted(root.glob("patient*/GOLD_STANDARD_*.nii.gz"))
    counts = {m: label_lesions(load_mask(m).data)[1] for m in masks}
    return max(counts, key=counts.__getitem__)


def perturb(truth: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A realistic imperfect prediction (uint8) and probability map (float32) from ``truth``."""
    rng = np.random.default_rng(seed)
    labels, n = label_lesions(truth)
    drop = rng.random(n + 1) < 0.15  # missed lesions
    drop[0] = True
    pred = ~drop[labels] & (labels > 0)
    grow = rng.random(n + 1) < 0.3  # over-segmented lesions
    grow[0] = False
    pred |= ndimage.binary_dilation(grow[labels])
    pred = np.roll(pred, 1, axis=0)
    spurious = rng.random(truth.shape) < 2e-5
    pred |= ndimage.binary_dilation(spurious, iterations=1)
    # Confident inside the prediction, a soft smoothed rim outside it.
    prob = 0.6 * pred + 0.4 * ndimage.gaussian_filter(pred.astype(np.float32), 1.0)
    prob = np.clip(prob + rng.normal(0, 0.02, truth.shape).astype(np.float32), 0, 1)
    return (prob >= 0.5).astype(np.uint8), prob


def median_time(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median (wall, CPU) seconds. On a shared machine wall time includes waiting for a
    core; the process CPU time of this single-threaded run is the one-core cost."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mask", help="truth mask (default: the open_ms_data mask with most lesions)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    path = pick_mask(args.mask)
    truth_vol = load_mask(path)
    truth, spacing = truth_vol.data, truth_vol.spacing
    pred, prob = perturb(truth)
    n_true, n_pred = label_lesions(truth)[1], label_lesions(pred)[1]
    print(f"case: {path.parent.name}/{path.name}  shape {truth.shape}")
    print(f"lesions: truth {n_true}, prediction {n_pred}; truth voxels {int(truth.sum())}")

    no_surface = EvalConfig(surface=False)
    parts = {
        "voxel metrics (no HD95)": lambda: voxel_metrics(
            pred, truth, spacing=spacing, surface=False
        ),
        "lesion metrics (any)": lambda: lesion_metrics(pred, truth, spacing),
        "voxel AP": lambda: voxel_average_precision(prob, truth),
        "lesion AP": lambda: lesion_average_precision(prob, truth, spacing),
        "HD95 + ASSD": lambda: surface_metrics(pred, truth, spacing),
    }
    print(f"median of {args.repeat} runs, seconds        wall      CPU")
    for name, fn in parts.items():
        wall, cpu = median_time(fn, args.repeat)
        print(f"  {name:<28} {wall:7.3f}  {cpu:7.3f}")
    wall, cpu = median_time(
        lambda: evaluate_case(pred, truth, spacing, prob=prob, config=no_surface), args.repeat
    )
    print(f"evaluate_case, all but HD95/ASSD: wall {wall:.3f} s, CPU {cpu:.3f} s")
    print(f"  -> {cpu / 2.0:.2f} of the 2 s one-core budget (CPU), {wall / 2.0:.2f} (wall)")
    wall, cpu = median_time(lambda: evaluate_case(pred, truth, spacing, prob=prob), args.repeat)
    print(f"evaluate_case, all metrics incl. HD95/ASSD: wall {wall:.3f} s, CPU {cpu:.3f} s")


if __name__ == "__main__":
    main()
