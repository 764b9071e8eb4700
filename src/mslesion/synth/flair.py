"""FLAIR contrast: tissue mixing, lesions, caps, texture and bias field, and the per-case draw.

All intensities are relative to normal white matter (WM = 1) until
:func:`mslesion.synth.acquisition.acquire` applies the random scanner scale. Ratios are
calibrated against the real scans of the shared data (see ``docs/synthesis.md``): median
GM/WM 1.00-1.11, lesion/WM 1.33-1.56, ventricular CSF/WM ~0.2-0.3.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from mslesion.infer.crop import brain_box
from mslesion.synth.deep_grey import DeepGrey
from mslesion.synth.fields import smooth_field
from mslesion.synth.lesions import MIN_LESION_CONTRAST

#: Gaussian sigma (mm) of the faint halo around lesions (``Contrast.lesion_halo``) and of their
#: narrow bright fringe, and the range of the fringe's lift at the edge (``lesion_fringe``).
HALO_SIGMA_MM, FRINGE_SIGMA_MM, FRINGE_RANGE = 3.0, 1.0, (0.1, 0.3)
#: Share of cases drawn as 2D acquisitions (thick axial slices), and the range of their
#: through-plane blur (sigma, mm; ``Contrast.through_plane_mm``), which sets their slice
#: spacing (``SLICE_SPACING_SHARE``) and slice profile (``SLICE_PROFILE_SHARE``). (0.8-1.6,
#: a Gaussian after the noise, until round 23; see ``TWO_D_RECON_MM``.)
TWO_D_SHARE, THROUGH_PLANE_MM = 0.6, (1.2, 1.9)
#: Median noise sigma relative to the configured 1 / snr (each case draws within
#: ``NOISE_SPREAD_2D`` / ``NOISE_SPREAD_3D`` either way of it) in the
#: cases drawn as 2D and as 3D acquisitions. (2D: 1.2 until round 15, whose 2D cases' deep-WM
#: noise, noise_mad, read 0.013-0.034 x NAWM (median 0.018; the 6 2D cases of seeds 0-11, a
#: one-off run) vs 0.017-0.030 (0.025) in the real 2D scans; their noise was smoothed by the
#: thick slices, so measured less. 1.7 until round 23, whose 2D noise lies on the slices and
#: is only interpolated between them: 7 2D cases of seeds 1-12 read 0.020-0.054 x NAWM, median
#: 0.029, at 1.25, vs 0.018-0.030, 0.027, real. 3D: 1.8 until round 31, whose benchmark's 3D
#: cases read noise_mad 0.069 (median of 4) vs the real 3D scans' 0.050 / 0.070, and looked
#: grainier than both at a glance; 0.060 at 1.55.)
NOISE_GAIN_2D, NOISE_GAIN_3D = 1.15, 1.55
#: How far either way of its median a case's noise sigma is drawn (a factor, log-uniform) in
#: 2D and 3D acquisitions. (2D: 2 until round 26, whose benchmark's 2D cases read noise_mad
#: 0.019-0.050 x NAWM vs 0.018-0.030 in the real 2D scans: the noisiest looked mottled at a
#: glance; the real 3D scans' 0.050-0.070 sit in their cases' 0.048-0.079.)
NOISE_SPREAD_2D, NOISE_SPREAD_3D = 1.4, 2.0
#: 3D acquisitions' resolution blur (sigma, mm; ``Contrast.psf_mm``; 0.2-0.55 until round 15:
#: zoomed, the 3D cases' cortical ribbon drowned in their noise where the real 3D scans show
#: it crisp under the same noise; the edge row hardly moves: edge_p90 0.326 -> 0.329 on the
#: benchmark's 3D cases, real 0.325), and 2D acquisitions' (0.35-0.85 until round 23, whose
#: slice profile softened them: edge_p90 0.175-0.217, median 0.187, vs 0.186-0.318, 0.204).
#: Both ranges are (0.0, 0.25) since round 30, below the filter's 0.3-voxel floor at 1 mm, where
#: it is skipped: the blur along Y (``PHASE_BLUR_2D_MM``) softened the X and Z edges too, so
#: they no longer get a blur of their own.
THREE_D_PSF_MM, PSF_2D_MM = (0.0, 0.25), (0.0, 0.25)
#: The extra resolution blur along Y (A-P; sigma, mm, added in quadrature to ``psf_mm`` there;
#: ``Contrast.phase_blur_mm``) of 2D and 3D acquisitions: a scanner's phase-encoding direction is
#: sampled more coarsely than its readout. In 5 of the 6 real scans the tissue edges are softer
#: along Y than along X (90th percentile of the gradient along Y over along X, inner brain:
#: 0.89-0.90 in the 2D ones, P14 T3 1.02; 0.94 and 0.89 in the 3D ones), as in the nilearn MNI
#: maps themselves (0.88-0.94); the synthetic cases' read 0.93-0.98 (2D) and 1.02-1.14 (3D),
#: the deformation's per-axis scaling steepening Y in some. A case draws one number for its
#: resolution, which sets both ``psf_mm`` and this (the later draws stay where they were). With
#: 0.6 / 0.8 mm, seeds 0-7 read 0.89-0.93 / 0.92-1.04 and their fine residual's correlation
#: 2 voxels apart along Y rose 0.01-0.05 (real 0.28-0.45 / 0.16-0.24; one-off scripts); the
#: benchmark's edge_y_x 0.923 / 0.941 (0.965 / 1.04 before; real 0.89 / 0.904), its edge_p90
#: 0.198 / 0.330 with a stronger 3D sharpening (``fields.SHARPEN_3D``; 0.203 / 0.316 before,
#: real 0.204 / 0.330).
#: 3D: (0.45, 0.8) since round 35, whose 3D brains are 0.80-0.92 of the template's size: their
#: finer anatomy under the same blur read edge_y_x 0.868 (real 0.904) at (0.6, 1.0), 0.91 at
#: (0.45, 0.8) (medians of seeds 0, 4, 5, 7; one-off script).
PHASE_BLUR_2D_MM, PHASE_BLUR_3D_MM = (0.45, 0.75), (0.45, 0.8)
#: 3D acquisitions: the sigma range (mm) of their noise's correlation by the scanner's
#: reconstruction (:func:`mslesion.synth.acquisition.rician_noise`), and of their lighter
#: resampling blur (``Contrast.interp_mm``; 2D cases 0.45-0.7 mm). (Reconstruction 0.45-0.65
#: until round 29, whose benchmark split the noise rows by acquisition: the fine residual's
#: neighbour correlation along X / Z read 0.41 / 0.42 in the 3D cases of seeds 0-7 (medians)
#: vs 0.35 / 0.32 in the real 3D scans; now 0.33 / 0.34.)
RECON_MM, THREE_D_INTERP_MM = (0.40, 0.58), (0.3, 0.45)
#: 2D acquisitions: the sigma (mm) of their noise's correlation within a slice by the
#: reconstruction, and the slice profile's Gaussian sigma along Z (blurring the anatomy before
#: the noise) over ``through_plane_mm`` (``Contrast.slice_profile_mm``). Until round 23 a 2D
#: case's noise was white until the resampling blur (0.45-0.7 mm), which left the noisier ones
#: a fine, one-voxel grain: the fine residual's in-plane neighbour correlation (noise_corr)
#: read 0.17-0.19 in seeds 6 and 12 vs 0.32-0.62 along X and 0.56-0.62 along Y in the real 2D
#: scans. Their anatomy was blurred along Z only after the noise, with the noise, so edges
#: across the slices stayed sharper than the real ones' (edge_z_x 0.74-0.89, median 0.81, vs
#: 0.71-0.82, 0.75) while the noise's correlation along Z fell off too soon (lag 1 / 2 / 3
#: voxels 0.79 / 0.39 / 0.10 in seed 1 vs 0.80-0.90 / 0.47-0.72 / 0.24-0.52 real).
TWO_D_RECON_MM, SLICE_PROFILE_SHARE = 0.7, 0.7
#: A 2D acquisition's slice spacing over its ``through_plane_mm``: linear interpolation between
#: slices s mm apart blurs like a Gaussian of sigma s / sqrt(6) (a triangle kernel's): slices
#: 2.9-4.7 mm apart. (P14 T1, the one real 2D scan whose slices lie nearly along the MNI grid,
#: shows their period in its noise: the per-plane noise level along Z peaks every ~3.5-4 mm.)
SLICE_SPACING_SHARE = float(np.sqrt(6.0))
#: How much darker the frontal WM is than the posterior WM (relative; spread 40 % behind and
#: 60 % in front of y = -10 mm, ``anatomy.frontal_wm_ramp``) in 2D and 3D cases. In the real 2D
#: scans the deep WM's median in 20 mm slabs (above the ventricles' floor) falls steadily from
#: 1.02-1.14 x NAWM at MNI y = -80..-60 mm to 0.80-0.84 at +40..+60 (their cortex does not:
#: 0.97-1.10 there); in the 3D scans it stays within 0.95-1.04 throughout (a one-off script;
#: the benchmark's ``wm_front_back``). Until round 14 every case got 0.04-0.07 from the
#: template's NAWM pattern, in front of y = +10 mm only.
FRONTAL_WM_2D, FRONTAL_WM_3D = (0.18, 0.30), (0.0, 0.05)
#: Range of ``Contrast.sulci_open``, the mean share of the template's sulcal lines opened.
#: (0.4-0.75 until round 28, whose sulci reach deeper: with it its first try read a CSF-dark
#: share 8 and 12 mm below the surface of 0.057 and 0.035, the real scans 0.044 and 0.026;
#: now 0.044 and 0.025.) 0.4-0.75 again since round 31, whose lines open from their middle
#: out (``atrophy.open_sulci``): a share s opens only the middle s of a line's width, less
#: in all than s of the whole line; at 0.3-0.65 the 3D cases' edges read 0.30 (edge_p90, 4
#: cases, a one-off script; real 3D 0.33) and their sulci stayed closed at a glance.
SULCI_OPEN = (0.4, 0.75)
#: A 3D case opens this share of its draw (round 32): its CSF steps sharpened
#: (``fields.sharpen_csf_steps``) darken more voxels below half the NAWM, and at the full draw
#: the CSF-dark share 8 mm below the surface rose from 0.097 / 0.074 to 0.127 / 0.103 (seeds 0
#: and 4; the real 3D scans 0.126 and 0.039). At 0.72 the benchmark's 3D cases read edge_p90
#: 0.382 [0.35-0.392] against the real 3D scans' 0.284 / 0.376: with as much tissue next to CSF
#: as patient19, a case's 90th-percentile gradient is that tissue's steep step; at 0.55 fewer
#: sulci open, as steep: 3D edge_p90 0.356 [0.332-0.368], edge_csf_p90 0.532 (real 0.597).
SULCI_OPEN_3D = 0.55
#: Ranges of ``Contrast.deep_grey_dim`` and ``Contrast.pallidum_dark`` (``deep_grey.py``):
#: undeformed, 8 cases then read thalamus 1.03, caudate 1.11, putamen 1.09, pallidum 0.80 x
#: NAWM at the nuclei's cores, the real scans 1.02, 1.11, 1.07, 0.82 (one-off scripts; 0.10-0.25
#: is the pallidum's second try: 0.15-0.30 read 0.76). Per acquisition since round 26: the 2D
#: cases' brighter cortex (``GM_2D``) had left their nuclei at the 3D cases' level, while the
#: real 2D scans show them brighter than the 3D ones (thalamus / caudate / putamen / pallidum
#: 1.05 / 1.18 / 1.10 / 0.85 x NAWM, medians of 4, vs 1.05 / 1.04 / 0.94 / 0.80 in the 3D
#: two). 7 undeformed 2D cases (seeds 1-12, as ``synth_realism.py --n 16 --undeformed``
#: makes them; a one-off run) read 1.06 / 1.15 / 1.12 / 0.85 with 0.35-0.65, 1.14 / 1.24 /
#: 1.18 / 0.81 with 0.1-0.4.
DEEP_GREY_DIM_2D, DEEP_GREY_DIM_3D = (0.35, 0.65), (0.65, 0.95)
PALLIDUM_DARK = (0.1, 0.25)
#: Pure cortex level (x WM, ``Contrast.gm``) in 2D and 3D acquisitions. Real 2D multislice
#: FLAIR shows more GM / WM contrast than 3D FLAIR (its magnetisation transfer darkens the WM
#: more): the atlas GM's 50th / 75th / 90th percentiles read 1.07-1.14 / 1.17-1.30 /
#: 1.25-1.40 x NAWM in the real 2D scans, 1.00 / 1.11 / 1.20 in the two real 3D ones. One
#: range for both (1.38-1.55, until round 18) had it reversed: 8 cases' 2D ones 1.01-1.06 /
#: 1.14-1.17 / 1.25-1.29, their 3D ones 1.02-1.08 / 1.18-1.28 / 1.30-1.42; with these 2D
#: 1.04-1.10 / 1.20-1.24 / 1.31-1.36, 3D 1.00-1.05 / 1.13-1.21 / 1.23-1.33 (one-off script).
#: GM_3D was 1.28-1.42 until round 24, whose sharpening of the 3D cases' anatomy
#: (``fields.SHARPEN_3D``) brings the ribbon's partial-volume voxels nearer the pure level:
#: 2 mm from a dark voxel (``ribbon_2mm``) 4 sharpened 3D cases read 1.09-1.17 x NAWM at
#: 1.23-1.36 and 1.07-1.15 at 1.20-1.33, the real 3D scans 1.11-1.12 (one-off script).
GM_2D, GM_3D = (1.50, 1.68), (1.22, 1.35)


@dataclass(frozen=True)
class Contrast:
    """Per-sample FLAIR tissue levels (relative to WM = 1) and acquisition parameters."""

    csf: float
    gm: float
    cap_gain: float
    texture: float  # std of the fine multiplicative tissue texture
    bias: float  # std of the log bias field
    scale: float  # scanner intensity of WM
    nawm_regional: float = 0.0  # gain of the template's regional NAWM pattern (CST, posterior)
    nawm_random: float = 0.0  # std of a random ~25 mm WM-only brightness field
    psf_mm: float = 0.4  # Gaussian sigma (mm) of the acquisition resolution (before noise)
    phase_blur_mm: float = 0.0  # extra Gaussian sigma (mm) of that resolution along Y
    interp_mm: float = 0.6  # Gaussian sigma (mm) of the resampling to MNI (signal and noise)
    noise_gain: float = 1.0  # this scan's noise sigma relative to the configured 1 / snr
    sulci_open: float = 0.65  # mean share of the template's sulcal lines opened into CSF
    grain: float = 0.0  # std of a fine (~1.5 mm) multiplicative tissue grain
    bright_gain: float = 0.0  # relative lift of the normal bright anatomy (``Template.bright``)
    dirty: float = 0.0  # periventricular "dirty-appearing" WM: relative lift at the wall
    lesion_halo: float = 0.0  # faint hyperintensity around lesions: relative lift at the edge
    lesion_fringe: float = 0.0  # narrower, brighter part of it (~1 mm): lift at the edge
    through_plane_mm: float = 0.0  # extra Gaussian sigma (mm) along Z of the resampling
    recon_mm: float = 0.0  # Gaussian sigma (mm) correlating the complex noise
    slice_profile_mm: float = 0.0  # Gaussian sigma (mm) along Z of the anatomy (2D slices)
    slice_spacing_mm: float = 0.0  # distance (mm) between a 2D acquisition's slices (3D: 0)
    slice_pitch_deg: float = 0.0  # tilt of those slices to the grid about X (nodding)
    slice_roll_deg: float = 0.0  # and about Y
    slice_offset: float = 0.0  # where the slices start, a share of their spacing ([0, 1))
    brain_scale: float = 1.0  # the template brain's size on the grid (rigid registration: < 1)
    frontal_wm: float = 0.0  # relative darkening of the frontal WM (``anatomy.frontal_wm_ramp``)
    deep_grey_dim: float = 0.0  # share of the cortex's GM excess over WM the deep nuclei lack
    pallidum_dark: float = 0.0  # relative darkening of the globus pallidus (``deep_grey``)

    @property
    def two_d(self) -> bool:
        """A 2D acquisition (thick axial slices, ``slice_spacing_mm`` apart), else a 3D one:
        the same field that has ``acquisition.acquire`` read the case as slices decides it."""
        return self.slice_spacing_mm > 0

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Contrast:
        # 2D acquisitions (thick axial slices) resampled to 1 mm: 4 of the 6 real scans here
        # (MSLesSeg) are smooth along Z, signal and noise alike (neighbouring voxels' noise
        # correlates 0.81-0.90 along Z vs 0.46-0.68 in-plane, tissue edges 0.71-0.82 x as steep
        # along Z as along X) and not very noisy (fine residual 0.03-0.06 x NAWM); the other two
        # (open_ms_data, 3D) are isotropic and 2-3 x as noisy (the fine residual's robust
        # spread, noise_mad, in the deep WM: 0.06-0.09 vs 0.02-0.03; its std, noise_hf, reads
        # 0.11-0.15, but half of that is their sharp anatomy, not noise). Round 12 draws the 3D
        # cases' noise correlated by the reconstruction (``recon_mm``), not blurred: 2.5 x the
        # noise blurred after the magnitude read noise_mad 0.03-0.06 (more of it would have
        # lifted the ventricles with its floor); now 0.045-0.08 in 6 cases, the neighbour
        # correlation 0.24-0.37 (real 0.23-0.32), the ventricles 0.17-0.23 x NAWM (0.15-0.17)
        two_d = bool(rng.random() < TWO_D_SHARE)
        noise_spread = np.log(NOISE_SPREAD_2D if two_d else NOISE_SPREAD_3D)
        drawn = cls(
            csf=float(rng.uniform(0.06, 0.20)),
            # pure cortex; partial volume with CSF and WM brings the atlas-GM median to ~1.05
            # (real 1.07 [1.00-1.14]; 1.22-1.38 measured 1.02 once round 8's atrophy thinned
            # the cortex, and the ribbon hardly showed against the WM; 1.33-1.50 measured 1.03
            # once round 11's 2D cases blurred the ribbon through the slices); per
            # acquisition since round 18 (``GM_2D``, ``GM_3D``)
            gm=float(rng.uniform(*(GM_2D if two_d else GM_3D))),
            cap_gain=float(rng.uniform(0.05, 0.20)),
            # round 14 calmed the NAWM's blotches: in the deep WM (atlas WM eroded 2 more mm,
            # lesions + 3 mm left out) the robust spread between Gaussian scales of 2.5 and 6 mm
            # read 0.033-0.040 x NAWM (median 0.035) in 8 cases vs 0.024-0.042 (0.029) real,
            # between 6 and 15 mm 0.032-0.044 (0.038) vs 0.019-0.032 (0.026) (synth_realism.py's
            # wm_band_2_6 / wm_band_6_15 on round 13's code). Texture 0.05-0.08, bias
            # 0.10-0.18, the ~25 mm field 0.07-0.14 with patches of 0.6 x it, dirty WM
            # 0.06-0.18 before; after (with round 14's other changes and a new random stream):
            # 0.019-0.032 (0.025) and 0.019-0.030 (0.026). Those rows read the atlas unfitted,
            # and a deformed case's unfitted "deep WM" holds cortex; round 19 fits the atlas
            # to each scan (benchmarks/atlas_fit.py): 0.019 and 0.021 vs 0.030 and 0.030 real
            # (round 18's texture 0.035-0.06, ~25 mm field 0.035-0.07, patches 0.3 x it).
            # Then texture 0.07-0.12, field 0.045-0.09, patches 0.8 x it: 0.0275 and 0.026
            # (medians of seeds 0-7, a one-off script). Round 29: texture 0.042-0.072 (and the
            # grain 0.018-0.03, 0.03-0.05 before); zoomed, the WM of seeds 0-7 was coarsely
            # mottled next to the real scans' (grain_2mm 0.24 / 0.12 in the 2D / 3D cases vs
            # 0.20 / 0.03 real, now 0.23 / 0.08; wm_band_1_2 0.035 vs 0.029 real, now 0.029)
            texture=float(rng.uniform(0.042, 0.072)),
            bias=float(rng.uniform(0.05, 0.09)),
            scale=float(rng.uniform(90.0, 220.0)),
            nawm_regional=float(rng.uniform(0.06, 0.12)),
            nawm_random=float(rng.uniform(0.045, 0.09)),
            # measured on the real MNI-space scans (benchmarks/synth_realism.py, "sharpness"):
            # noise correlated over ~1 voxel by the registration's interpolation, noise level
            # varying up to 2x either way between scans (the real scans' fine residual,
            # noise_hf, spans 5x: 0.03-0.06 MSLesSeg, 0.11-0.16 open_ms_data). Round 9's
            # brighter cortex sharpened the edges past the real ones (edge_p90 0.277 vs 0.241)
            # with noise too smooth (noise_corr 0.62 vs 0.49): a wider resolution blur (0.15-0.6
            # before), a lighter interpolation (0.5-0.75) and 1.2 x the noise gave 0.256 and
            # 0.48 (noise_hf 0.045 vs 0.051; synth_realism.py --n 4). Round 11 split the cases
            # into 2D and 3D acquisitions (see ``two_d``); the 3D ones get a sharper 0.2-0.55 mm
            # (the real 3D scans' edges measure edge_p90 0.28-0.37, the 2D ones' 0.19-0.32;
            # 0.1-0.4 mm from round 15, 0.0-0.25 since round 30, ``THREE_D_PSF_MM``); one
            # number sets the resolution in-plane and along Y (``PHASE_BLUR_2D_MM``)
            psf_mm=_within(PSF_2D_MM if two_d else THREE_D_PSF_MM, resolution := rng.uniform()),
            interp_mm=float(rng.uniform(*((0.45, 0.7) if two_d else THREE_D_INTERP_MM))),
            noise_gain=float(
                (NOISE_GAIN_2D if two_d else NOISE_GAIN_3D)
                * np.exp(rng.uniform(-noise_spread, noise_spread))
            ),
            # 40-75 %: with 20-55 % only ~8 % of the inner brain bordered CSF vs ~15 % in the
            # real scans (csf_edge_share), and their edges were softer (edge_p90 0.19 vs 0.24)
            sulci_open=float(rng.uniform(*SULCI_OPEN)),
            grain=float(rng.uniform(0.018, 0.03)),
            # real FLAIR (MSLesSeg P14/P18, open_ms_data): tegmentum, insula ~1.1-1.4 x NAWM
            bright_gain=float(rng.uniform(0.08, 0.22)),
            # (0.06-0.18 until round 14: the WM 3 mm from the ventricles read 1.02-1.19 x NAWM,
            # median 1.09 (6 cases), vs 1.00-1.15, 1.04 real; now 1.00-1.11, 1.07 (8 cases))
            dirty=float(rng.uniform(0.04, 0.11)),
            lesion_halo=float(rng.uniform(0.04, 0.12)),
            # the real masks leave out a bright fringe: 1, 2, 3 voxels outside them the WM
            # reads 1.20, 1.06, 1.02 x NAWM (medians over the real scans; the benchmark's edge
            # profile), the halo alone gave 1.11, 1.01, 1.00
            lesion_fringe=float(rng.uniform(*FRINGE_RANGE)),
            through_plane_mm=float(rng.uniform(*THROUGH_PLANE_MM)) if two_d else 0.0,
            recon_mm=TWO_D_RECON_MM if two_d else float(rng.uniform(*RECON_MM)),
            frontal_wm=float(rng.uniform(*(FRONTAL_WM_2D if two_d else FRONTAL_WM_3D))),
            deep_grey_dim=float(rng.uniform(*(DEEP_GREY_DIM_2D if two_d else DEEP_GREY_DIM_3D))),
            pallidum_dark=float(rng.uniform(*PALLIDUM_DARK)),
        )
        # derived, not drawn: every later draw of a seed stays where it was
        return replace(
            drawn,
            slice_profile_mm=SLICE_PROFILE_SHARE * drawn.through_plane_mm,
            slice_spacing_mm=SLICE_SPACING_SHARE * drawn.through_plane_mm,
            phase_blur_mm=_within(PHASE_BLUR_2D_MM if two_d else PHASE_BLUR_3D_MM, resolution),
            sulci_open=drawn.sulci_open * (1.0 if two_d else SULCI_OPEN_3D),
        )


def _within(bounds: tuple[float, float], share: float) -> float:
    """The point ``share`` (in [0, 1]) of the way from ``bounds[0]`` to ``bounds[1]``."""
    return float(bounds[0] + (bounds[1] - bounds[0]) * share)


#: Clip of the WM brightness modulation (WM = 1 + this). Lesion cores are >= 1.6 x WM, so a
#: modulated WM of at most 1.3 keeps every mask voxel brighter than its surrounding WM. (The
#: floor was -0.2 until round 14, whose darker frontal WM in 2D cases needs a little more room.)
NAWM_RANGE = (-0.3, 0.3)
#: Ceiling (relative to WM) of what the normal bright anatomy and the lesion halo may lift
#: tissue to. Below the dimmest lesion core (``lesions.MIN_LESION_CONTRAST`` 1.6), so these
#: hard negatives stay less bright than lesions and every mask voxel stays above its tissue.
TISSUE_MAX = 1.45


def lift(img: np.ndarray, weight: np.ndarray, gain: float) -> np.ndarray:
    """``img * (1 + gain * weight)`` in place, never above :data:`TISSUE_MAX` where it lifts
    (a voxel already brighter, e.g. a periventricular cap, keeps its own level)."""
    lifted = img * (1 + np.float32(gain) * weight)
    np.minimum(lifted, np.maximum(img, np.float32(TISSUE_MAX)), out=img)
    return img


#: Std of the ~10 mm NAWM patches relative to the ~25 mm field's (``Contrast.nawm_random``);
#: 0.6 until round 14, whose deep WM read blotchier than the real scans' at 6-15 mm through the
#: unfitted atlas; 0.3 until round 19, whose fitted atlas found it 0.7 x as blotchy as real
#: (see ``Contrast.draw``).
NAWM_PATCH_SHARE = 0.8


def nawm_modulation(
    pattern: np.ndarray,
    voxel_size_mm: float,
    c: Contrast,
    rng: np.random.Generator,
    vent_dist: np.ndarray | None = None,
    frontal: np.ndarray | None = None,
) -> np.ndarray:
    """Relative WM brightness offset (X, Y, Z) float32: regional pattern + random ~25 mm field
    - ``c.frontal_wm`` x ``frontal`` (``anatomy.frontal_wm_ramp``, -0.4..0.6, broadcastable)
    (+ ~10 mm patches and periventricular dirty-appearing WM when ``vent_dist``, in mm, is
    given; the patches have ``NAWM_PATCH_SHARE`` x the 25 mm field's std).

    Real NAWM varies smoothly between regions (brighter corticospinal tract and posterior
    periventricular WM, darker frontal WM, patchy "dirty" WM), not only at the ~6 mm texture
    scale. MS brains add "dirty-appearing" WM: a faint, ill-defined hyperintensity fading over
    ~6 mm from the ventricles, patchy (a ~10 mm field decides where it is strong), up to
    ``c.dirty`` at the wall. Applied to the WM fraction only (see :func:`tissue_image`), and
    clipped to :data:`NAWM_RANGE`, which keeps it below every lesion.
    """
    field = smooth_field(pattern.shape, 25.0 / voxel_size_mm, rng)[0] * np.float32(c.nawm_random)
    field += pattern * np.float32(c.nawm_regional)
    if frontal is not None:
        field -= frontal * np.float32(c.frontal_wm)
    if vent_dist is not None:
        # ~10 mm patches: faint patchy WM everywhere (the 25 mm field alone left the NAWM too
        # uniform, CV 0.14 vs 0.18 real), and where the periventricular dirty WM is strong
        patches = smooth_field(pattern.shape, 10.0 / voxel_size_mm, rng)[0]
        field += np.float32(NAWM_PATCH_SHARE * c.nawm_random) * patches
        near = np.exp(-np.maximum(vent_dist - 1.0, 0.0) / 6.0) * (vent_dist > 0)
        field += np.float32(c.dirty) * near * np.clip(0.6 + 0.6 * patches, 0.0, 1.2)
    return np.clip(field, *NAWM_RANGE, out=field)


def tissue_image(
    gm: np.ndarray,
    wm: np.ndarray,
    csf: np.ndarray,
    caps: np.ndarray,
    brain: np.ndarray,
    c: Contrast,
    nawm: np.ndarray | None = None,
    bright: np.ndarray | None = None,
    deep: DeepGrey | None = None,
) -> np.ndarray:
    """Noise-free partial-volume mix (X, Y, Z) float32, WM = 1, 0 outside ``brain``.

    ``nawm`` (from :func:`nawm_modulation`) makes the WM level ``1 + nawm`` voxel by voxel;
    ``bright`` (``Template.bright``, [0, 1]) lifts the normal bright anatomy by up to
    ``c.bright_gain`` (at most to :data:`TISSUE_MAX`); ``deep`` (the grid's
    :func:`mslesion.synth.deep_grey.deep_grey_weights`) puts the deep nuclei's GM at
    ``c.gm - c.deep_grey_dim x (c.gm - 1)`` and darkens the pallidum by ``c.pallidum_dark``.
    """
    total = np.maximum(gm + wm + csf, np.float32(1e-3))
    wm_level = wm if nawm is None else wm * (1 + nawm)
    img = (gm * np.float32(c.gm) + wm_level + csf * np.float32(c.csf)) / total
    if deep is not None:
        b = deep.box
        drop = np.float32(c.deep_grey_dim * (c.gm - 1.0))
        img[b] -= deep.grey * drop * gm[b] / total[b]
        img[b] *= 1 - np.float32(c.pallidum_dark) * deep.pallidum
    img *= 1 + np.float32(c.cap_gain) * caps
    if bright is not None and c.bright_gain > 0:
        lift(img, bright, c.bright_gain)
    img[~brain] = 0
    return img


def lesion_halo(
    img: np.ndarray, alpha: np.ndarray, voxel_size_mm: float, c: Contrast
) -> np.ndarray:
    """Faint hyperintensity around the lesions (in place, before they are blended in): a halo
    fading over ~3 mm (up to ``c.lesion_halo`` at the edge) and a brighter fringe fading over
    ~1 mm (up to ``c.lesion_fringe``), at most to :data:`TISSUE_MAX`, so below the lesions.

    Real MS lesions sit in "dirty" WM, not in a clean background, and raters outline the
    bright core: the fading edge outside their outline is what a model must not segment.
    """
    if (c.lesion_halo <= 0 and c.lesion_fringe <= 0) or not np.any(alpha > 0):
        return img
    # on the lesions' bounding box grown by the wider kernel's reach only: the same values (the
    # grown margin is 0, as the volume there), at about half the cost of the whole volume
    reach = int(2.5 * HALO_SIGMA_MM / voxel_size_mm + 0.5) + 1
    box = brain_box(alpha > 0, reach)
    inside = (alpha[box] > 0).astype(np.float32)
    weight = np.zeros_like(inside)
    for sigma_mm, gain in ((HALO_SIGMA_MM, c.lesion_halo), (FRINGE_SIGMA_MM, c.lesion_fringe)):
        if gain > 0:
            part = ndimage.gaussian_filter(inside, sigma_mm / voxel_size_mm, truncate=2.5)
            weight += np.minimum(part * np.float32(2.0), np.float32(1.0)) * np.float32(gain)
    lift(img[box], weight, 1.0)
    return img


#: Std of the within-lesion variation of the core contrast (relative), over ~3 mm. (0.12 until
#: round 9: on cores of ~1.9 that alone spread a large lesion's voxels by more than the real
#: ones' 10th-90th percentile range, 0.30 x NAWM.)
LESION_MOTTLE = 0.07


def mottle_cores(
    cores: np.ndarray,
    coords: tuple[np.ndarray, ...],
    shape: tuple[int, ...],
    voxel_size_mm: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Lesion cores that vary inside each lesion: float32 (N,), one per voxel index in ``coords``
    (indices into a volume of ``shape``; no random draw when there are none).

    Real plaques are brighter in places and fade unevenly; one core level per lesion made large
    synthetic plaques a flat, saturated blob. Each core is multiplied by ``1 + LESION_MOTTLE x``
    a ~3 mm random field and never drops below ``lesions.MIN_LESION_CONTRAST``, so every mask
    voxel keeps its margin above the tissue around it (the truth stays exact). The field is
    read from its coarse lattice at the given voxels only (a whole-volume 3 mm field at 1 mm
    measured 0.25 s per case on a busy 2-core machine).
    """
    if not cores.size:
        return cores.astype(np.float32)
    cell = max(3.0 / voxel_size_mm, 1.0)
    lattice = rng.standard_normal(tuple(int(np.ceil(s / cell)) + 2 for s in shape), np.float32)
    field = ndimage.map_coordinates(lattice, [ax / cell for ax in coords], order=1)
    # linear interpolation of unit white noise has std ~0.6 between lattice points: rescale
    field /= np.float32(max(float(field.std()), 0.3))
    mottled = cores * (1 + np.float32(LESION_MOTTLE) * field)
    return np.maximum(mottled, np.float32(MIN_LESION_CONTRAST)).astype(np.float32)


#: Lesion contrast by acquisition. Real 2D FLAIR shows more lesion / WM contrast than 3D FLAIR,
#: as it shows more GM / WM contrast (``GM_2D``, ``GM_3D``): over the mask the real 2D scans
#: read 1.57 x NAWM, the real 3D ones 1.37. With one set of cores for both, round 24's 2D cases
#: read 1.36 and its 3D ones 1.59. A 2D case's cores keep 1.5 x their excess over WM (a gain
#: above 1 keeps every mask voxel above its tissue). A 3D case's image is compressed above 1.3
#: x WM to half its excess once the lesions are in (:func:`compress_above`): lesions, caps,
#: halo and bright anatomy together. That map is monotonic, so the order the painting
#: guarantees (lesion > its tissue > the hard negatives) survives, where dimmer 3D cores
#: would have fallen below the brightest tissue a lesion may sit in (the caps, up to 1.56).
#: Round 25, one-off patches on 4 cases: 3D lesions 1.39-1.42 over the mask, < 30 voxels
#: 1.29-1.35 (real 1.27), >= 300 voxels 1.40-1.45 (1.44); GM untouched (below the knee).
LESION_GAIN_2D = 1.5
KNEE_3D, KNEE_SLOPE_3D = 1.3, 0.5


def add_lesions(
    img: np.ndarray,
    alpha: np.ndarray,
    contrast: np.ndarray,
    mottle: tuple[float, np.random.Generator] | None = None,
    gain: float = 1.0,
) -> np.ndarray:
    """Blend lesions in place: each mask voxel moves from max(tissue, WM) towards its core
    (``contrast``, float32 like ``img``); ``mottle`` = (voxel size in mm, generator) first
    varies the cores inside each lesion (:func:`mottle_cores`); ``gain`` (>= 1, so every core
    stays above any tissue) then scales each core's excess over WM."""
    if gain < 1:
        raise ValueError(f"lesion gain {gain} < 1 would let cores fall below their tissue")
    sel = np.nonzero(alpha > 0)
    base = np.maximum(img[sel], np.float32(1.0))
    a = alpha[sel]
    cores = contrast[sel]
    if mottle is not None:
        cores = mottle_cores(cores, sel, img.shape, mottle[0], mottle[1])
    if gain != 1:
        cores = 1 + np.float32(gain) * (cores - 1)
    img[sel] = (1 - a) * base + a * cores
    # (cores >= MIN_LESION_CONTRAST > 1 and a >= RIM_MIN_ALPHA > 0 keep every mask voxel above
    # WM before noise)
    return img


def compress_above(img: np.ndarray, knee: float, slope: float) -> np.ndarray:
    """In place: every value above ``knee`` becomes ``knee + slope x (value - knee)``
    (``slope`` > 0: monotonic, so the order of any two voxels is kept)."""
    if slope <= 0:
        raise ValueError(f"slope {slope} <= 0 would not keep the order of intensities")
    over = img > knee
    img[over] = np.float32(knee) + np.float32(slope) * (img[over] - np.float32(knee))
    return img


def texture_and_bias(
    img: np.ndarray, voxel_size_mm: float, c: Contrast, rng: np.random.Generator, bias: bool
) -> np.ndarray:
    """Multiply by tissue texture (~4 mm), a fine grain (~1.5 mm) and, if ``bias``, a smooth
    bias field (~80 mm).

    (Regional WM variation at ~25 mm is :func:`nawm_modulation`; at 6 mm this texture looked
    blotchy next to the finer grain of real NAWM. The grain is what real NAWM shows beyond the
    noise, which the final resampling blur smooths away: without it the WM looked too clean.
    Below 2 voxels of correlation it is skipped: on coarse grids it would only be noise.)
    """
    field = smooth_field(img.shape, 4.0 / voxel_size_mm, rng)[0] * np.float32(c.texture)
    if c.grain > 0 and 1.5 / voxel_size_mm >= 1.0:
        field += smooth_field(img.shape, 1.5 / voxel_size_mm, rng)[0] * np.float32(c.grain)
    if bias:
        field += smooth_field(img.shape, 80.0 / voxel_size_mm, rng)[0] * np.float32(c.bias)
    img *= np.exp(field)
    return img
