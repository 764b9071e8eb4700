"""Deterministic scanner-like degradations of a FLAIR volume, for robustness tables.

Each degradation takes a raw FLAIR (X, Y, Z) float array in scanner units plus its brain mask
and returns a new array on the same grid: what the same brain might look like from another
scanner or protocol. Unlike the random training augmentation (:mod:`mslesion.data.augment`,
which draws its parameters per patch), these are fixed and seeded, so every model is scored
on exactly the same degraded scans.

Named degradations (:data:`DEGRADATIONS`) are parsed from ``kind`` or ``kind:value``:

============  ============================================  ====================
name          what                                          value (default)
============  ============================================  ====================
``clean``     unchanged                                     -
``thick``     axial slices of ``value`` mm (block mean       slice mm (5)
              along Z), linearly resampled back
``bias``      smooth multiplicative field, log-std value     log-std (0.2)
              (~80 mm correlation)
``noise``     Rician noise, sigma = median brain / value     SNR (10)
``scale``     global intensity factor                        factor (2.5)
``gamma``     contrast change: brain intensities to the      exponent (0.7)
              power ``value`` (lesion/WM contrast shrinks
              for < 1)
============  ============================================  ====================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mslesion.synth.acquisition import rician_noise
from mslesion.synth.fields import smooth_field


@dataclass(frozen=True)
class Degradation:
    """A named degradation with its parameter; ``label`` is what tables print."""

    kind: str
    value: float | None

    @property
    def label(self) -> str:
        if self.value is None:
            return self.kind
        return f"{self.kind}:{self.value:g}"


def _thick_slices(
    img: np.ndarray, brain: np.ndarray, spacing: tuple[float, float, float], mm: float, seed: int
) -> np.ndarray:
    # A thick slice integrates the signal over its slab: block-average Z, then interpolate
    # back to the original slices (what a 1 mm resampling of a clinical 2D FLAIR looks like).
    step = max(1, int(round(mm / spacing[2])))
    nz = img.shape[2]
    pad = (-nz) % step
    padded = np.pad(img, ((0, 0), (0, 0), (0, pad)), mode="edge")
    slabs = padded.reshape(img.shape[0], img.shape[1], -1, step).mean(axis=3)
    centres = (np.arange(slabs.shape[2]) * step + (step - 1) / 2.0).astype(np.float64)
    # Linear interpolation along Z only, clamped at both ends.
    z = np.clip(np.arange(nz, dtype=np.float64), centres[0], centres[-1])
    hi = np.clip(np.searchsorted(centres, z, side="right"), 1, max(1, len(centres) - 1))
    lo = hi - 1
    span = np.where(centres[hi] > centres[lo], centres[hi] - centres[lo], 1.0)
    w = ((z - centres[lo]) / span).astype(np.float32)
    out = slabs[:, :, lo] * (1 - w) + slabs[:, :, hi] * w
    return out.astype(np.float32)


def _bias(
    img: np.ndarray,
    brain: np.ndarray,
    spacing: tuple[float, float, float],
    log_std: float,
    seed: int,
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cell = 80.0 / float(np.mean(spacing))
    field = smooth_field(img.shape, cell, rng)[0]
    field /= max(float(field[brain].std()), 1e-6) if brain.any() else 1.0
    return (img * np.exp(np.float32(log_std) * field)).astype(np.float32)


def _noise(
    img: np.ndarray, brain: np.ndarray, spacing: tuple[float, float, float], snr: float, seed: int
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    level = float(np.median(img[brain])) if brain.any() else float(img.max())
    return rician_noise(img, level / snr, rng)


def _scale(
    img: np.ndarray,
    brain: np.ndarray,
    spacing: tuple[float, float, float],
    factor: float,
    seed: int,
) -> np.ndarray:
    return (img * np.float32(factor)).astype(np.float32)


def _gamma(
    img: np.ndarray,
    brain: np.ndarray,
    spacing: tuple[float, float, float],
    exponent: float,
    seed: int,
) -> np.ndarray:
    top = float(np.percentile(img[brain], 99.9)) if brain.any() else float(img.max())
    top = max(top, 1e-6)
    rel = np.clip(img / top, 0.0, None)
    return (np.power(rel, np.float32(exponent)) * top).astype(np.float32)


_Fn = Callable[[np.ndarray, np.ndarray, tuple[float, float, float], float, int], np.ndarray]

#: name -> (function, default value)
DEGRADATIONS: dict[str, tuple[_Fn | None, float | None]] = {
    "clean": (None, None),
    "thick": (_thick_slices, 5.0),
    "bias": (_bias, 0.2),
    "noise": (_noise, 10.0),
    "scale": (_scale, 2.5),
    "gamma": (_gamma, 0.7),
}

#: The robustness table's default rows.
DEFAULT_SET = ("clean", "thick:5", "bias:0.2", "noise:10", "scale:2.5", "gamma:0.7")


def parse_degradation(text: str) -> Degradation:
    """``"thick:4"`` -> Degradation("thick", 4.0); ``"noise"`` takes the default value."""
    kind, _, raw = text.partition(":")
    if kind not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {kind!r} (known: {', '.join(DEGRADATIONS)})")
    default = DEGRADATIONS[kind][1]
    if kind == "clean":
        if raw:
            raise ValueError("degradation 'clean' takes no value")
        return Degradation(kind, None)
    try:
        value = float(raw) if raw else float(default)  # type: ignore[arg-type]
    except ValueError:
        raise ValueError(f"degradation {text!r}: value {raw!r} is not a number") from None
    if not value > 0:
        raise ValueError(f"degradation {text!r}: value must be > 0")
    return Degradation(kind, value)


def degrade(
    image: np.ndarray,
    brain: np.ndarray,
    degradation: Degradation,
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
    seed: int = 0,
) -> np.ndarray:
    """``image`` (X, Y, Z) degraded as named; outside ``brain`` (bool, same shape) set to the
    degraded value too (the scanner sees everything), except that zeros stay zero so that a
    skull-stripped scan stays skull-stripped. ``spacing`` in mm; ``seed`` fixes noise/bias."""
    fn, _ = DEGRADATIONS[degradation.kind]
    img = np.asarray(image, dtype=np.float32)
    if fn is None:
        return img.copy()
    brain = np.asarray(brain, dtype=bool)
    out = fn(img, brain, spacing, float(degradation.value), seed)  # type: ignore[arg-type]
    out[img == 0] = 0
    return out
