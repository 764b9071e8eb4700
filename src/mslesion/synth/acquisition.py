"""The scanner and the registration: resolution blur, 2D slices, Rician noise, resampling.

What :func:`acquire` does to a noise-free FLAIR (relative to WM = 1, on the MNI grid) is what
the real scans here went through: acquired at a finite resolution (3D) or as thick axial
slices (2D), with magnitude noise, skull-stripped, then registered to MNI space.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from mslesion.infer.crop import brain_box
from mslesion.synth.flair import Contrast


def rician_noise(
    img: np.ndarray,
    sigma: float,
    rng: np.random.Generator,
    corr_sigma_vox: float | tuple[float, ...] = 0.0,
) -> np.ndarray:
    """Magnitude of ``img`` plus complex Gaussian noise of std ``sigma`` (same units as
    ``img``) per channel: MRI magnitude noise. Draws the real channel, then the imaginary.

    ``corr_sigma_vox`` > 0 (one sigma, or one per axis) correlates each channel's noise over
    a Gaussian of that sigma (voxels) before the magnitude is taken, at the same std ``sigma``:
    a scanner's k-space reconstruction (apodisation, zero-filled interpolation) correlates the
    complex noise without lowering it, unlike a blur of the magnitude image, which also lowers
    the noise floor's share of the signal. (Why it matters: the real 3D scans here read ~0.10 x
    NAWM of fine residual in the ventricles, whose mean stays at 0.15-0.17; blurred after the
    magnitude, noise that strong would have needed a sigma whose floor, 1.25 sigma, put the
    ventricles at ~0.6, an estimate.)
    """
    s = np.float32(sigma)
    per_axis = np.broadcast_to(np.asarray(corr_sigma_vox, dtype=float), (img.ndim,)).tolist()
    channels = []
    for _ in range(2):
        noise = rng.standard_normal(img.shape, dtype=np.float32)
        if max(per_axis) > 0:
            noise = ndimage.gaussian_filter(noise, per_axis, truncate=2.5)
            noise /= np.float32(np.prod([_gaussian_gain(a, 2.5) for a in per_axis]))
        channels.append(noise * s)
    real = img + channels[0]
    imag = channels[1]
    return np.sqrt(real * real + imag * imag).astype(np.float32, copy=False)


def _gaussian_gain(sigma_vox: float, truncate: float) -> float:
    """Std of white unit noise after ``ndimage.gaussian_filter1d`` (L2 norm of its kernel;
    1 for sigma 0, which the filter skips)."""
    if sigma_vox <= 0:
        return 1.0
    radius = int(truncate * sigma_vox + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma_vox) ** 2)
    kernel /= kernel.sum()
    return float(np.sqrt((kernel**2).sum()))


#: Fewest voxels between a 2D acquisition's slices for :func:`acquire` to read it as slices.
MIN_SLICE_SPACING_VOX = 2.0


def lerp_z(volume: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``volume`` (X, Y, Z) read at the fractional Z indices ``z`` (N,), linearly, the ends
    held: (X, Y, N) float32. (One axis only, so cheaper than ``ndimage.map_coordinates``.)"""
    top = volume.shape[2] - 1
    z = np.clip(np.asarray(z, dtype=np.float64), 0.0, top)
    lo = np.minimum(np.floor(z).astype(np.intp), max(top - 1, 0))
    w = (z - lo).astype(np.float32)
    hi = np.minimum(lo + 1, top)
    return (volume[:, :, lo] * (1 - w) + volume[:, :, hi] * w).astype(np.float32, copy=False)


def slice_positions(first_z: int, n_z: int, spacing_vox: float, offset: float) -> np.ndarray:
    """Z indices, relative to ``first_z``, of a 2D acquisition's slices that cover
    ``first_z .. first_z + n_z - 1`` (one slice beyond each end): every ``spacing_vox`` voxels
    from the absolute index ``offset`` (in [0, spacing_vox)), so a box sees the same slices
    as the whole volume."""
    k0 = np.floor((first_z - offset) / spacing_vox) - 1
    k1 = np.ceil((first_z + n_z - 1 - offset) / spacing_vox) + 1
    return offset + np.arange(k0, k1 + 1) * spacing_vox - first_z


def acquire(
    img: np.ndarray,
    brain: np.ndarray,
    voxel_size_mm: float,
    c: Contrast,
    rng: np.random.Generator,
    snr: float | None,
    slice_thickness_mm: float | None,
) -> np.ndarray:
    """Acquisition: resolution blur, slice profile, 2D slices, Rician noise, skull strip,
    resampling blur, scale; zero outside ``brain``. A case's last draws are made here.

    Order matters for how the result looks: the acquisition's resolution (``c.psf_mm``; along Y,
    the phase-encoding direction, with ``c.phase_blur_mm`` added in quadrature) and thick
    slices (``slice_thickness_mm``, a FWHM, else the case's own ``c.slice_profile_mm``, a
    sigma) blur the anatomy only. A 2D acquisition (``c.slice_spacing_mm`` >= 2 voxels) is then
    read at its slices only, every ``c.slice_spacing_mm`` from a random offset, and gets its
    noise there (sigma ``c.noise_gain / snr`` of WM, correlated within each slice over
    ``c.recon_mm``); the registration to MNI space, which every real scan here went through,
    interpolates linearly between the slices (the 1 mm planes between two slices are less noisy
    than those on them, and oblique edges step from slice to slice, as in the real 2D scans'
    sagittal views) and then blurs anatomy and noise alike over ``c.interp_mm``, which gives
    the noise its ~1 voxel grain. A 3D acquisition gets its noise on the grid itself.
    (Blurring everything after the noise, as before round 11, smoothed the noise to a quarter
    of its sigma and left the images softer and cleaner than any real scan.)
    """
    slice_sigma = c.slice_profile_mm / voxel_size_mm
    if slice_thickness_mm:  # the configured thickness replaces the case's own slice profile
        thick = slice_thickness_mm > voxel_size_mm
        slice_sigma = slice_thickness_mm / 2.3548 / voxel_size_mm if thick else 0.0  # FWHM->sigma
    spacing = c.slice_spacing_mm / voxel_size_mm
    # on grids too coarse for slices at least 2 voxels apart (3 mm; some at 2 mm) the slices'
    # blur is a Gaussian after the noise: read at slices ~1 voxel apart, a 1-voxel lesion
    # between two of them was averaged below its WM
    sliced = spacing >= MIN_SLICE_SPACING_VOX
    gaussian_z = 0.0 if sliced else c.through_plane_mm
    z_reach = int(np.ceil(4 * slice_sigma + 2.5 * c.through_plane_mm / voxel_size_mm))
    # the phase-encoding direction (Y) is resolved more coarsely than the other two
    psf_mm = (c.psf_mm, float(np.hypot(c.psf_mm, c.phase_blur_mm)), c.psf_mm)
    psf_sigmas = [s / voxel_size_mm if s / voxel_size_mm >= 0.3 else 0.0 for s in psf_mm]
    y_reach = int(np.ceil(2.5 * psf_sigmas[1]))
    # only the brain's bounding box (+ the filters' reach) is worked on: outside it the image
    # is 0 and ends up 0, and the blurs and the noise cost ~half as much on the box
    box = brain_box(brain, (3, max(3, y_reach), 3 + z_reach))
    out = np.zeros_like(img)
    part = img[box]
    if max(psf_sigmas) > 0:
        part = ndimage.gaussian_filter(part, psf_sigmas, truncate=2.5)
    if slice_sigma >= 0.3:
        part = ndimage.gaussian_filter1d(part, slice_sigma, axis=2, mode="nearest")
    recon = c.recon_mm / voxel_size_mm
    # a 2D acquisition's slices are read out one by one: its reconstruction correlates the
    # noise within a slice, not across slices
    corr = (recon, recon, 0.0) if c.two_d else recon
    if sliced:
        at = slice_positions(box[2].start or 0, part.shape[2], spacing, rng.uniform(0.0, spacing))
        slices = lerp_z(part, at)
        if snr:
            slices = rician_noise(slices, c.noise_gain / snr, rng, corr)
        part = lerp_z(slices, (np.arange(part.shape[2]) - at[0]) / spacing)
    elif snr:
        part = rician_noise(part, c.noise_gain / snr, rng, corr)
    # the skull strip works on the scanner's image, before the registration resamples it: zero
    # outside the brain first, so the resampling blurs the zeros into the edge voxels (the
    # real scans' edge voxels read 0.03-0.05 x NAWM at their 10th percentile)
    part[~brain[box]] = 0
    interp_sigma = c.interp_mm / voxel_size_mm
    # (Gaussians compose: the slices' extra blur along Z adds in quadrature)
    z_sigma = float(np.hypot(c.interp_mm, gaussian_z)) / voxel_size_mm
    if max(interp_sigma, z_sigma) >= 0.3:
        sigmas = (interp_sigma, interp_sigma, z_sigma)
        part = ndimage.gaussian_filter(part, sigmas, truncate=2.5)
    out[box] = part
    img = out
    img *= np.float32(c.scale)
    img[~brain] = 0
    return img.astype(np.float32, copy=False)
