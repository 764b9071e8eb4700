"""The scanner and the registration: resolution blur, 2D slices, Rician noise, resampling.

What :func:`acquire` does to a noise-free FLAIR (relative to WM = 1, on the MNI grid) is what
the real scans here went through: acquired at a finite resolution (3D) or as thick axial
slices (2D), with magnitude noise, skull-stripped, then registered to MNI space.
"""

from __future__ import annotations

from dataclasses import replace

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


#: How far a 2D acquisition's slices are tilted to the MNI grid: about X (pitch; the size of
#: the angle, either sign) and about Y (roll; either way). A scanner plans axial slices on the
#: head (e.g. along AC-PC), not on MNI space, so the registration leaves them oblique. The real
#: 2D scans' slices show in the 3D spectrum of their fine residual's energy, which peaks
#: across the slices (``benchmarks/realism_slices.py``): tilted 1.2 / 8.7 / 5.3 / 11.7 degrees
#: (P14 T1-T3, P18 T1), nearly all about X (roll 0-1.8). Until round 34 every case's slices
#: lay along the grid, their interpolation level streaks on every sagittal view (a tilt about
#: X leaves them level on coronal views).
SLICE_PITCH_DEG, SLICE_ROLL_DEG = (1.5, 13.0), 2.0


def place_slices(c: Contrast, rng: np.random.Generator) -> Contrast:
    """``c`` with its 2D slices placed: tilted (``slice_pitch_deg``, ``slice_roll_deg``) and
    started at a random share of their spacing (``slice_offset``), drawn from ``rng``, a stream
    of their own so that no other draw of a seed moves; a 3D acquisition's ``c`` unchanged."""
    if not c.two_d:
        return c
    pitch = float(rng.choice((-1.0, 1.0)) * rng.uniform(*SLICE_PITCH_DEG))
    roll = float(rng.uniform(-SLICE_ROLL_DEG, SLICE_ROLL_DEG))
    offset = float(rng.uniform(0.0, 1.0))
    return replace(c, slice_pitch_deg=pitch, slice_roll_deg=roll, slice_offset=offset)


#: Linear size of a 3D case's brain on the MNI grid, against the template's. The real 3D
#: scans here (open_ms_data) were registered to MNI rigidly, which leaves a brain its own
#: size: theirs fill 0.79-0.89 of the MNI brain along each axis (~1,100 cm3 against the
#: atlas' 1,830; synthesis.md, "Round 19"), where the 2D ones (MSLesSeg) were registered with
#: scaling and fill it to within 1-3 %. At the template's size, a 3D case's gyri were ~1.2 x
#: as wide as the real 3D scans', and the same 32 mm patch held fewer of them.
RIGID_BRAIN_SCALE_3D = (0.80, 0.92)


def place_brain(c: Contrast, rng: np.random.Generator) -> Contrast:
    """``c`` with the size its brain keeps on the grid (``brain_scale``): a 3D acquisition's
    registered rigidly, as the real 3D scans', drawn from ``rng`` (a stream of its own, so no
    other draw of a seed moves); a 2D acquisition's ``c`` unchanged (registered with scaling,
    the brain at the template's size)."""
    if c.two_d:
        return c
    return replace(c, brain_scale=float(rng.uniform(*RIGID_BRAIN_SCALE_3D)))


def lerp_z(volume: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``volume`` (X, Y, Z) read at the fractional Z indices ``z``, linearly, the ends held:
    ``z`` (X, Y, N), one set per column (oblique planes), or anything that broadcasts to it,
    e.g. (N,), the same in every column; (X, Y, N) float32. (One axis only, so cheaper than
    ``ndimage.map_coordinates``.)"""
    top = volume.shape[2] - 1
    z = np.asarray(z, dtype=np.float32)
    lo, hi, w = _bracket(np.broadcast_to(z, (*volume.shape[:2], z.shape[-1])), top)
    # flat indices into the raveled volume: ~5 x faster than np.take_along_axis here
    columns = np.arange(volume.shape[0] * volume.shape[1], dtype=np.intp) * volume.shape[2]
    columns = columns.reshape(volume.shape[0], volume.shape[1], 1)
    flat = np.ascontiguousarray(volume).reshape(-1)
    below, above = flat.take(lo + columns), flat.take(hi + columns)
    return (below * (1 - w) + above * w).astype(np.float32, copy=False)


def _bracket(index: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The two whole indices round each fractional ``index`` (clipped to [0, ``top``], the
    ends held) and the weight of the upper one: (lo, hi, w), lo + w = the clipped index."""
    index = np.clip(np.asarray(index, dtype=np.float32), 0.0, top)
    lo = np.minimum(np.floor(index).astype(np.intp), max(top - 1, 0))
    return lo, np.minimum(lo + 1, top), index - lo


def lerp_along_normal(slices: np.ndarray, index: np.ndarray, lean: float) -> np.ndarray:
    """Oblique ``slices`` (X, Y, K: slice k's value where it crosses column (x, y)) read at
    the fractional slice indices ``index`` (X, Y, N), each voxel between its two slices along
    their normal: slice k0 = floor(index) at ``w * lean`` voxels along Y from the voxel's
    column, slice k0 + 1 at ``-(1 - w) * lean`` (w = index - k0), each linearly along Y, then
    linearly between the two; the ends held. ``lean``: how far (voxels along Y) the normal
    through a voxel meets the next slice from its column, spacing x tan(pitch) / (1 +
    tan(pitch)^2 + tan(roll)^2); 0 reads each column on its own, as :func:`lerp_z`.

    Why: a registration interpolates a 2D scan between its slices along their normal, so the
    real 2D scans' noise correlates along it (the fine residual's autocorrelation leans 9-10
    degrees towards Y in P14 T1, T2 and P18). Read down each column, a case's noise correlated
    along Z whatever its slices' tilt (0-1 degree in seed 1, tilted 9.9). (The roll, <= 2
    degrees, would lean along X by <= 0.16 voxel: left out.)
    """
    n_x, n_y, top = slices.shape[0], slices.shape[1], slices.shape[2] - 1
    lo, hi, w = _bracket(index, top)
    flat = np.ascontiguousarray(slices).reshape(-1)
    y = np.arange(n_y, dtype=np.float32)[None, :, None]
    rows = np.arange(n_x, dtype=np.intp)[:, None, None] * n_y

    def read(k: np.ndarray, dy: np.ndarray) -> np.ndarray:
        at = np.clip(y + dy, 0.0, n_y - 1)
        y0 = np.minimum(np.floor(at).astype(np.intp), max(n_y - 2, 0))
        g = at - y0
        base = (rows + y0) * (top + 1) + k
        ahead = base + (top + 1) * (n_y > 1)
        return flat.take(base) * (1 - g) + flat.take(ahead) * g

    lean32 = np.float32(lean)
    below, above = read(lo, w * lean32), read(hi, (w - 1) * lean32)
    return (below * (1 - w) + above * w).astype(np.float32, copy=False)


def slice_shift(
    shape_xy: tuple[int, int], centre_xy: tuple[float, float], pitch_deg: float, roll_deg: float
) -> np.ndarray:
    """(X, Y) float32: how far (voxels along Z) oblique slices lie above where they cross the
    column ``centre_xy`` (voxel indices, may lie outside the shape), at each column of a grid
    of ``shape_xy``: slices tilted by ``pitch_deg`` about X (nodding, the larger angle in the
    real scans) and ``roll_deg`` about Y."""
    y = np.arange(shape_xy[1], dtype=np.float32) - np.float32(centre_xy[1])
    x = np.arange(shape_xy[0], dtype=np.float32) - np.float32(centre_xy[0])
    pitch, roll = np.tan(np.radians(pitch_deg)), np.tan(np.radians(roll_deg))
    return (np.float32(pitch) * y[None, :] + np.float32(roll) * x[:, None]).astype(np.float32)


def slice_positions(
    first_z: int, n_z: int, spacing_vox: float, offset: float, beyond: int = 1
) -> np.ndarray:
    """Z indices, relative to ``first_z``, of a 2D acquisition's slices that cover
    ``first_z .. first_z + n_z - 1`` (``beyond`` slices beyond each end): every
    ``spacing_vox`` voxels from the absolute index ``offset`` (in [0, spacing_vox)), so a box
    sees the same slices as the whole volume."""
    k0 = np.floor((first_z - offset) / spacing_vox) - beyond
    k1 = np.ceil((first_z + n_z - 1 - offset) / spacing_vox) + beyond
    return offset + np.arange(k0, k1 + 1) * spacing_vox - first_z


def slice_grid(
    shape: tuple[int, ...], box: tuple[slice, ...], spacing_vox: float, c: Contrast
) -> tuple[np.ndarray, np.ndarray]:
    """Where a 2D acquisition's slices cross the part ``box`` of a volume of ``shape``:
    (their Z indices (K,) in the box where they cross the volume's central column, each
    column's shift above that (X, Y) in voxels; see :func:`slice_shift`). The slices lie
    every ``spacing_vox`` voxels from ``c.slice_offset`` of it, tilted about the volume's
    centre, so a box sees the whole volume's slices; enough of them to cover the box."""
    sizes = [len(range(n)[b]) for n, b in zip(shape, box, strict=True)]
    origin = [(n - 1) / 2 - (b.start or 0) for n, b in zip(shape[:2], box[:2], strict=True)]
    shift = slice_shift((sizes[0], sizes[1]), origin, c.slice_pitch_deg, c.slice_roll_deg)
    beyond = 1 + int(np.ceil(np.abs(shift).max() / spacing_vox))
    offset = c.slice_offset * spacing_vox
    return slice_positions(box[2].start or 0, sizes[2], spacing_vox, offset, beyond), shift


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
    read at its slices only, every ``c.slice_spacing_mm`` from a random offset, tilted to the
    grid by ``c.slice_pitch_deg`` (about X) and ``c.slice_roll_deg`` (about Y), and gets its
    noise there (sigma ``c.noise_gain / snr`` of WM, correlated within each slice over
    ``c.recon_mm``); the registration to MNI space, which every real scan here went through,
    interpolates linearly between the slices, each voxel between its two along their normal
    (:func:`lerp_along_normal`; the 1 mm planes between two slices are less noisy
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
        # oblique slices: each column (x, y) meets them ``shift`` voxels higher. (The slice
        # profile above blurs along Z, not along their normal: <= 3 % apart at 13 degrees.)
        at, shift = slice_grid(img.shape, box, spacing, c)
        slices = lerp_z(part, at[None, None, :] + shift[:, :, None])
        if snr:
            slices = rician_noise(slices, c.noise_gain / snr, rng, corr)
        # the registration to MNI reads the slices back, each voxel between its own two along
        # their normal
        plane = np.arange(part.shape[2], dtype=np.float32)[None, None, :] - shift[:, :, None]
        pitch, roll = np.tan(np.radians((c.slice_pitch_deg, c.slice_roll_deg)))
        lean = spacing * pitch / (1 + pitch * pitch + roll * roll)
        index = (plane - np.float32(at[0])) / np.float32(spacing)
        part = lerp_along_normal(slices, index, float(lean))
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
