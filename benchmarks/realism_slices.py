"""Where a 2D acquisition's slices lie: their spacing and tilt to the grid, synthetic vs real.

Thick slices resampled to 1 mm leave the noise strongest on the slices and weakest between
them, so the energy of the fine residual (what a 1.5 mm Gaussian removes) rises and falls
across the slices; the 3D spectrum of that energy peaks at the slices' frequency, pointing
along their normal. The real 2D scans here (MSLesSeg) show it clearly, their slices tilted
1.2-11.7 degrees to the MNI grid, nearly all about X; before round 34 every synthetic 2D case's
slices lay along the grid (docs/synthesis.md, "Round 34"). A 3D scan has no slices: its peak
is low and its period meaningless.

    MSLESION_DATA=../shared/data python benchmarks/realism_slices.py --n 8
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

#: Frequencies below this (cycles per voxel) are left out of the peak search: anatomy, not
#: slices (slices 2-8 mm apart sit at 0.125-0.5).
MIN_FREQUENCY = 0.12


@dataclass(frozen=True)
class SlicePlanes:
    """The strongest periodic pattern of a scan's fine-residual energy.

    Attributes:
        period_mm: distance between the planes along their normal (mm).
        tilt_deg: angle between their normal and Z (0: axial planes along the grid).
        pitch_deg: tilt about X (> 0: the planes rise, to higher Z, toward higher Y).
        roll_deg: tilt about Y (> 0: they rise toward higher X). Both as
            ``acquisition.slice_shift`` draws them.
        strength: the peak over the median of the spectrum searched (clear slices: > 50).
    """

    period_mm: float
    tilt_deg: float
    pitch_deg: float
    roll_deg: float
    strength: float


def slice_planes(image: np.ndarray, brain: np.ndarray, voxel_size_mm: float = 1.0) -> SlicePlanes:
    """The slice planes read from ``image`` (X, Y, Z) inside ``brain`` (bool, same shape),
    which is eroded 5 voxels first so that its edge does not count."""
    inner = ndimage.binary_erosion(brain, iterations=5)
    box = tuple(slice(int(i.min()), int(i.max()) + 1) for i in np.nonzero(inner))
    part = image[box].astype(np.float64)
    residual = part - ndimage.gaussian_filter(part, 1.5)
    energy = np.where(inner[box], residual * residual, 0.0)
    energy[inner[box]] -= energy[inner[box]].mean()
    spectrum = np.abs(np.fft.rfftn(energy))  # the last axis (Z) holds only f >= 0
    freqs = np.meshgrid(
        *(np.fft.fftfreq(n) for n in energy.shape[:2]),
        np.fft.rfftfreq(energy.shape[2]),
        indexing="ij",
    )
    radius = np.sqrt(sum(f * f for f in freqs))
    spectrum[radius < MIN_FREQUENCY] = 0.0
    peak = np.unravel_index(int(np.argmax(spectrum)), spectrum.shape)
    fx, fy, fz = (float(f[peak]) for f in freqs)
    norm = float(radius[peak])
    return SlicePlanes(
        period_mm=voxel_size_mm / norm,
        tilt_deg=float(np.degrees(np.arccos(abs(fz) / norm))),
        pitch_deg=float(np.degrees(np.arctan2(-fy, fz))),  # (planes z = t * y: f ~ (0, -t, 1))
        roll_deg=float(np.degrees(np.arctan2(-fx, fz))),
        strength=float(spectrum[peak] / np.median(spectrum[spectrum > 0])),
    )


def describe(planes: SlicePlanes) -> str:
    """One line: period, tilt (pitch, roll) and peak strength."""
    return (
        f"period {planes.period_mm:4.2f} mm, tilt {planes.tilt_deg:4.1f} deg "
        f"(pitch {planes.pitch_deg:+5.1f}, roll {planes.roll_deg:+5.1f}), "
        f"peak {planes.strength:4.0f} x median"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8, help="synthetic cases (seeds 0..n-1)")
    args = parser.parse_args()

    from mslesion.synth.generate import case_contrast
    from synth_realism import labelled_scans

    for label, image, brain, seed in labelled_scans(args.n):
        drawn = ""
        if seed is not None and (c := case_contrast(seed)).two_d:
            drawn = f"; drawn {c.slice_spacing_mm:.2f} mm, pitch {c.slice_pitch_deg:+.1f}"
        print(f"{label:<22}{describe(slice_planes(image, brain))}{drawn}")


if __name__ == "__main__":
    main()
