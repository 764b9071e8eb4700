"""Speed of ``mslesion.synth.generate_case`` on one CPU core.

Usage: ``python benchmarks/synth_speed.py [--n 3]``. Prints seconds per case at 1 mm (the
182x218x182 MNI grid; target < 5 s) and at 3 mm, after a warm-up that loads the template cache.
Set OMP_NUM_THREADS=1 as well for a strictly single-threaded figure.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from mslesion.synth import SynthConfig, generate_case


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for v, load in ((1.0, "medium"), (1.0, "high"), (3.0, "medium")):
        config = SynthConfig(voxel_size_mm=v, lesion_load=load)  # type: ignore[arg-type]
        generate_case(999, config)  # warm-up: template cache
        wall, cpu = [], []
        for seed in range(args.n):
            t0, c0 = time.perf_counter(), time.process_time()
            case = generate_case(seed, config)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        print(
            f"{v:.0f} mm {load:<6} shape {'x'.join(map(str, case.flair.shape))}: "
            f"wall {np.median(wall):.2f} s, cpu {np.median(cpu):.2f} s/case (median of {args.n})"
        )


if __name__ == "__main__":
    main()
