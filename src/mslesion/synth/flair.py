"""FLAIR contrast: tissue mixing, lesions, caps, bias field, blur, Rician noise, scale.

All intensities are relative to normal white matter (WM = 1) until :func:`acquire` applies the
random scanner scale. Ratios are calibrated against the real scans of the shared data (see
``docs/synthesis.md``): median GM/WM 1.00-1.11, lesion/WM 1.33-1.56, ventricular CSF/WM ~0.2-0.3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from mslesion.synth.fields import smooth_field


@dataclass(frozen=True)
class Contrast:
    """Per-sample FLAIR tissue levels (relative to WM = 1) and acquisition parameters."""

    csf: float
    gm: float
    cap_gain: float
    texture: float  # std of the fine multiplicative tissue texture
    bias: float  # std of the log bias field
    scale: float  # scanner intensity of WM

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Contrast:
        return cls(
            csf=float(rng.uniform(0.10, 0.24)),
            gm=float(rng.uniform(1.15, 1.28)),
            cap_gain=float(rng.uniform(0.05, 0.20)),
            texture=float(rng.uniform(0.07, 0.11)),
            bias=float(rng.uniform(0.10, 0.18)),
            scale=float(rng.uniform(90.0, 220.0)),
        )


def tissue_image(
    gm: np.ndarray,
    wm: np.ndarray,
    csf: np.ndarray,
    caps: np.ndarray,
    brain: np.ndarray,
    c: Contrast,
) -> np.ndarray:
    """Noise-free partial-volume mix (X, Y, Z) float32, WM = 1, 0 outside ``brain``."""
    total = np.maximum(gm + wm + csf, np.float32(1e-3))
    img = (gm * np.float32(c.gm) + wm + csf * np.float32(c.csf)) / total
    img *= 1 + np.float32(c.cap_gain) * caps
    img[~brain] = 0
    return img


def add_lesions(img: np.ndarray, alpha: np.ndarray, contrast: np.ndarray) -> np.ndarray:
    """Blend lesions in place: each mask voxel moves from max(tissue, WM) towards ``contrast``."""
    sel = alpha > 0
    base = np.maximum(img[sel], np.float32(1.0))
    a = alpha[sel]
    img[sel] = (1 - a) * base + a * contrast[sel]
    # (contrast > 1 and a >= RIM_MIN_ALPHA > 0 keep every mask voxel above WM before noise)
    return img


def texture_and_bias(
    img: np.ndarray, voxel_size_mm: float, c: Contrast, rng: np.random.Generator, bias: bool
) -> np.ndarray:
    """Multiply by tissue texture (~6 mm) and, if ``bias``, a smooth bias field (~80 mm)."""
    field = smooth_field(img.shape, 6.0 / voxel_size_mm, rng)[0] * np.float32(c.texture)
    if bias:
        field += smooth_field(img.shape, 80.0 / voxel_size_mm, rng)[0] * np.float32(c.bias)
    img *= np.exp(field)
    return img


def acquire(
    img: np.ndarray,
    brain: np.ndarray,
    voxel_size_mm: float,
    c: Contrast,
    rng: np.random.Generator,
    snr: float | None,
    slice_thickness_mm: float | None,
) -> np.ndarray:
    """Slice-thickness blur along Z, Rician noise (sigma = 1/snr of WM), resampling blur, scale.

    The final mild blur (sigma 0.6 mm) mimics the interpolation of registering a scan to MNI
    space, which every real scan here went through: without it the noise looks too crisp.
    """
    if slice_thickness_mm and slice_thickness_mm > voxel_size_mm:
        sigma = slice_thickness_mm / 2.3548 / voxel_size_mm  # FWHM -> Gaussian sigma, in voxels
        img = ndimage.gaussian_filter1d(img, sigma, axis=2, mode="nearest")
    if snr:
        s = np.float32(1.0 / snr)
        real = img + rng.standard_normal(img.shape, dtype=np.float32) * s
        imag = rng.standard_normal(img.shape, dtype=np.float32) * s
        img = np.sqrt(real * real + imag * imag)
    resample_sigma = 0.6 / voxel_size_mm
    if resample_sigma >= 0.3:
        img = ndimage.gaussian_filter(img, resample_sigma, truncate=2.5)
    img *= np.float32(c.scale)
    img[~brain] = 0
    return img.astype(np.float32, copy=False)
