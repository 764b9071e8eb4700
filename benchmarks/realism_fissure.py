"""Across the interhemispheric fissure: how dark and how wide it is, synthetic vs real.

Each axial row across the midline above the corpus callosum (MNI y -66..+64 mm, z +28..+53
mm, where x -8..+10 mm is all brain) is aligned on its darkest voxel within 3 mm of x = 0;
the median of the aligned rows is the fissure's profile (values / the scan's brain median).
A real 3D scan's fissure is a trough about three voxels wide; before round 33 the synthetic
3D cases' was one voxel, often closed (docs/synthesis.md, "Round 33").

    MSLESION_DATA=../shared/data python benchmarks/realism_fissure.py --n 8
"""

from __future__ import annotations

import argparse

import numpy as np

#: Array index ranges on the 1 mm MNI grid (182 x 218 x 182): x of the rows (midline 90),
#: y and z of the rows read, and where in a row its darkest voxel is looked for.
ROW_X = slice(82, 101)
ROW_Y = range(60, 190)
ROW_Z = range(100, 126)
SEARCH = slice(6, 13)  # within a row: x indices 88..94, +-3 mm of the midline
HALF = 6  # voxels kept on each side of the darkest one


def fissure_rows(image: np.ndarray, brain: np.ndarray) -> np.ndarray:
    """(N, 2 * HALF + 1) float32: the rows across the midline (``image`` / its brain median,
    (X, Y, Z) on the 1 mm MNI grid), each centred on its darkest voxel near the midline."""
    scaled = image / np.median(image[brain])
    rows = []
    for z in ROW_Z:
        for y in ROW_Y:
            if not brain[ROW_X, y, z].all():
                continue
            line = scaled[ROW_X, y, z]
            centre = int(np.argmin(line[SEARCH])) + SEARCH.start
            rows.append(line[centre - HALF : centre + HALF + 1])
    return np.asarray(rows, np.float32).reshape(-1, 2 * HALF + 1)


def summary(rows: np.ndarray) -> str:
    """Darkest voxel (median, 25th-75th pct), its two neighbours and the voxels 2 out."""
    centre = rows[:, HALF]
    median = np.median(rows, axis=0)
    q25, q75 = np.percentile(centre, [25, 75])
    return (
        f"darkest {np.median(centre):.2f} [{q25:.2f}-{q75:.2f}], "
        f"beside it {median[HALF - 1]:.2f} / {median[HALF + 1]:.2f}, "
        f"2 out {median[HALF - 2]:.2f} / {median[HALF + 2]:.2f} (n = {len(rows)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8, help="synthetic cases (seeds 0..n-1)")
    args = parser.parse_args()

    from synth_realism import labelled_scans

    for label, image, brain, _seed in labelled_scans(args.n):
        print(f"{label:<22}{summary(fissure_rows(image, brain))}")


if __name__ == "__main__":
    main()
