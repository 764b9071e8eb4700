"""Per-case sulci and cortical atrophy: the template's sulcal lines opened into CSF
(:func:`open_sulci`), then wider sulci and deeper outer CSF than the MNI average has.

The MNI152 template averages 152 young healthy adults; MS brains have lost volume. The
ventricles grow in the deformation (``fields.random_sampling_grid``); here each case also moves
its cortical pia in, so that its sulci widen and the CSF over the convexity deepens: the GM
near a pial surface (``Template.pial_mm``: outside the brain, the fissures, a sulcal line)
turns into CSF, down to a depth that each case draws (``ATROPHY_MM``) and that varies over
~30 mm (atrophy is uneven between lobes). Only GM turns into CSF: white matter, and with it
the region lesions may occupy, is unchanged. Measured (``benchmarks/synth_realism.py``,
``csf_edge_share``, the share of the inner brain that borders CSF, with 4 / 8 cases): 0.125 /
0.100 without this, 0.175 / 0.135 with it, 0.152 in the real scans.
"""

from __future__ import annotations

import numpy as np

from mslesion.synth.fields import smooth_field
from mslesion.synth.normal import mm_grid

#: Per-case mean atrophy depth (mm) at the brain's surface, drawn uniformly (0 would leave the
#: template's cortex as it is; with 0-1.6 mm many cases drew almost none and the 8-case CSF
#: border share stayed 0.11). 0.8-1.8 mm at every depth until round 15, which tapers it
#: towards the sulci's fundus (:func:`sulcal_taper`) and deepens it at their mouth to keep
#: the CSF the eye meets.
ATROPHY_MM = (1.1, 2.4)
#: Correlation length (mm) and relative std of the regional variation of the depth.
ATROPHY_FIELD_MM = 30.0
ATROPHY_FIELD_STD = 0.5
#: Width (mm) of the partial-volume ramp at the new pial surface. With a one-voxel ramp the
#: widened sulci had hard edges: matching the CSF border share pushed the 90th-percentile
#: gradient (edge_p90) to 0.27 vs 0.24 real; with 2.5 mm it measured 0.25.
RAMP_MM = 2.5


#: How the sulci open with depth below the brain's outer surface (``Template.surface_mm``):
#: (start, end, floor): fully down to ``start`` mm, then less and less, to ``floor`` x from
#: ``end`` mm on; one taper for the opening of the template's sulcal lines
#: (:func:`open_sulci`, ``OPENING_TAPER``), one for the widening by atrophy
#: (:func:`cortical_atrophy`, ``WIDENING_TAPER``). Real sulci are wide open at the mouth and
#: close towards the fundus: the CSF-dark share of the real scans' cerebrum falls from 0.091
#: at 4 mm below the surface to 0.044 at 8 mm and 0.027 at 12 mm (medians of 6; the
#: benchmark's dark_4mm ...); opened and widened alike at every depth, round 14's 8 cases read
#: 0.080, 0.080 and 0.060 (dark dashes reaching deep); round 15 tapered both by (3, 12, 0.3):
#: 0.115, 0.065 and 0.037. Round 20, shell by shell (1 mm shells at 2, 3, 4, 6, 8, 12 mm;
#: medians of the 6 real scans 0.245, 0.135, 0.090, 0.055, 0.045, 0.025): with (3, 12, 0.3)
#: the 8 cases matched at 2 mm (0.246) but fell off half as fast below it (0.163, 0.141,
#: 0.113, 0.081, 0.043: dark squiggles inside the gyral WM). Floor 0.8 since round 31, whose
#: sulci open from their middle out (:func:`open_sulci`): a deep line then opens a sheet
#: one voxel thin, not 0.3 of its whole width, and at 0.3 the deep sulci stayed grey where
#: the real 3D scans show thin black lines reaching 15-20 mm in (benchmark: dark_8mm /
#: dark_12mm 0.037 / 0.026 with 0.8, the real scans 0.044 / 0.026).
OPENING_TAPER = (3.0, 12.0, 0.8)
WIDENING_TAPER = (2.0, 8.0, 0.15)


def sulcal_taper(surface_mm: np.ndarray, taper: tuple[float, float, float]) -> np.ndarray:
    """Float32 in [floor, 1], like ``surface_mm`` (depth below the outer surface, mm): how much
    of a sulcus' opening or widening a voxel at that depth gets; ``taper`` is (start, end,
    floor) in mm, mm and a share (``OPENING_TAPER``, ``WIDENING_TAPER``)."""
    start, end, floor = taper
    ramp = np.clip((np.float32(end) - surface_mm) / np.float32(end - start), 0.0, 1.0)
    return (floor + (1.0 - floor) * ramp).astype(np.float32)


def atrophy_depth_mm(
    shape: tuple[int, int, int], voxel_size_mm: float, rng: np.random.Generator
) -> np.ndarray:
    """Float32 (X, Y, Z): this case's atrophy depth in mm, >= 0: a per-case mean drawn from
    ``ATROPHY_MM`` times ``1 + ATROPHY_FIELD_STD`` x a smooth ~30 mm field (clipped at 0)."""
    mean = np.float32(rng.uniform(*ATROPHY_MM))
    field = smooth_field(shape, ATROPHY_FIELD_MM / voxel_size_mm, rng)[0]
    field *= np.float32(ATROPHY_FIELD_STD)
    field += np.float32(1.0)
    np.maximum(field, np.float32(0.0), out=field)
    return field * mean


def cortical_atrophy(
    gm: np.ndarray,
    csf: np.ndarray,
    pial_mm: np.ndarray,
    depth_mm: np.ndarray,
    voxel_size_mm: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(gm, csf) float32 (X, Y, Z) with the cortex near its pia turned into CSF.

    ``pial_mm`` (distance to the pia) and ``depth_mm`` (:func:`atrophy_depth_mm`) are in mm.
    A voxel ``d`` mm from the pia loses the share ``clip((depth - d) / ramp, 0, 1)`` of its GM,
    with ``ramp`` = ``RAMP_MM`` (at least one voxel): a sulcal line (d = 0) opens first, its
    banks recede as the depth grows. A depth of 0 changes nothing; GM + CSF is conserved voxel
    by voxel.
    """
    share = depth_mm - pial_mm
    share *= np.float32(1.0 / max(voxel_size_mm, RAMP_MM))
    np.clip(share, 0.0, 1.0, out=share)
    moved = gm * share
    return gm - moved, csf + moved


#: The medial cortex above the corpus callosum, as (|x|, y, z) ranges in MNI mm, each with a
#: ramp (mm) outside it: where :func:`medial_calm` weighs 1 (fading to 0 over the ramp).
MEDIAL_CALM_BOX_MM = ((0.0, 12.0, 4.0), (-50.0, 60.0, 10.0), (10.0, 200.0, 10.0))
#: Shares :func:`medial_calm` takes off the opening of the sulcal lines and off the atrophy
#: depth there. The template's medial cortex merges both hemispheres' cingulate and medial
#: frontal gyri; its sulcal lines, widened like any pia, read as a dark ladder along the falx on
#: axial slices at z +30..+45 mm, or as a dark band ~10 mm wide in a 2D case (seed 3). The
#: CSF-dark share of the medial cortex there (``synth_realism.py``'s ``medial_dark``; seeds
#: 0-7, one-off runs) read 0.005-0.14, median 0.107 (3D cases 0.09-0.14) against the real
#: scans' 0.013-0.16, median 0.048; with these shares 0.001-0.097, median 0.051 (3D
#: 0.055-0.097, real 3D 0.046 and 0.16). 0.3 / 0.25 read 0.031, 0.15 / 0.15 0.068 and left
#: seed 3's band; the atrophy does most of it.
MEDIAL_CALM_OPEN, MEDIAL_CALM_ATROPHY = 0.25, 0.2


def medial_calm(shape: tuple[int, int, int], affine: np.ndarray) -> np.ndarray:
    """Float32 (X, Y, Z) weight in [0, 1] on a grid of ``shape`` with a diagonal ``affine``:
    1 in :data:`MEDIAL_CALM_BOX_MM`, fading linearly to 0 over each axis' ramp."""
    weight = np.float32(1.0)
    for coord, (lo, hi, ramp), mirror in zip(
        mm_grid(shape, affine), MEDIAL_CALM_BOX_MM, (True, False, False), strict=True
    ):
        c = np.abs(coord) if mirror else coord
        inside = np.minimum(c - (lo - ramp), (hi + ramp) - c) / np.float32(ramp)
        weight = weight * np.clip(inside, 0.0, 1.0)
    return np.asarray(weight, np.float32)


#: Width (in ``Template.sulci_core`` units, 0-1 across a line's half width) of the ramp from
#: closed to pure CSF at the edge of a sulcus' opened middle (``open_sulci``). (0.25 opened
#: a little more, 0.4 reads steadier: edges 0.28-0.32 vs 0.29-0.34 in 4 3D cases.)
SULCUS_CORE_RAMP = 0.4


def open_sulci(
    gm: np.ndarray,
    csf: np.ndarray,
    sulci: np.ndarray,
    core: np.ndarray,
    voxel_size_mm: float,
    sulci_open: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Move a regionally varying share of the sulcal lines from GM to CSF; returns (gm, csf).

    ``sulci``: the template's line weights (``Template.sulci``, tapered by the caller);
    ``core``: how central across its line each voxel lies (``Template.sulci_core``);
    ``sulci_open``: the case's mean share (``flair.Contrast.sulci_open``). The share varies
    over ~20 mm (some sulci wide open, others closed, as in a real brain), which also breaks
    the template's regular look. On the 1 mm grid (or finer) a line opens from its middle out:
    where the share is s, the voxels whose ``core`` exceeds 1 - s open, fully from
    :data:`SULCUS_CORE_RAMP` above that threshold, so an opened sulcus is a sheet of pure CSF
    between two banks of cortex. A coarser voxel spans a line's width: it opens by the share
    itself (the middle-out opening's partial volume). Never more than the GM there.
    """
    # (std 0.35, was 0.5: fewer fully opened, black sulci)
    share = smooth_field(gm.shape, 20.0 / voxel_size_mm, rng)[0] * np.float32(0.35)
    share += np.float32(sulci_open)
    np.clip(share, 0.0, 1.0, out=share)
    if voxel_size_mm <= 1.0:
        share = np.clip((core - (1 - share)) / np.float32(SULCUS_CORE_RAMP), 0.0, 1.0)
    opened = np.minimum(sulci * share, gm)
    return gm - opened, csf + opened


#: Half-width (mm) of the interhemispheric fissure each case opens (uniform), its relative
#: variation along the fissure, and the std and correlation length (mm) of its sideways
#: wander. The template's fissure, narrowed (``folding.narrow_fissure``), is one voxel of CSF
#: with cortex right up to it; across the real 3D scans' fissure above the corpus callosum the
#: voxels beside its darkest one read 0.44-0.50 (patient19) and 0.87-0.88 (patient26) x the
#: brain median, round 32's synthetic 3D cases' 0.96-1.06: a ruler-straight thin line, the
#: machine observer's surest tell (``benchmarks/realism_observer.py``); with this, 0.83-0.96
#: (``benchmarks/realism_fissure.py``; round 33).
FISSURE_HALF_MM = (0.3, 0.9)
FISSURE_HALF_VARIATION = 0.5
FISSURE_WANDER_MM = (0.3, 10.0)
#: How wide (mm) the fissure's walls fade from CSF to cortex (at least one voxel). One voxel
#: until round 35 left a hairline whose neighbours read 0.82-1.07 x the brain median in the 3D
#: cases (real 0.44-0.50 and 0.87-0.88) and, sharpened, a bright line along each bank; at 2.5
#: mm they read 0.69-0.89 (``benchmarks/realism_fissure.py``). (Wider half-widths, round 33,
#: smudged the medial cortex instead.)
FISSURE_EDGE_MM = 2.5
#: Where the fissure closes: a smooth random field f (std ~0.65, ``FISSURE_WANDER_MM``'s
#: correlation) closes the share (f - a) g of it, clipped to [0, 1], for (a, g) these two
#: (~38 % of its length closes, 14 % fully): the opening there shrinks by that share and the
#: template's one-voxel line of CSF turns into cortex by it. A real fissure is dark in
#: stretches only: the medial gyri of the two hemispheres touch across it in places, where a
#: faint line is all that shows (both real 3D scans' coronal views); a case's ran dark and
#: unbroken from the vertex to the corpus callosum (round 36).
FISSURE_CLOSE = (0.2, 2.0)


def open_fissure(
    gm: np.ndarray,
    csf: np.ndarray,
    midline_x: float,
    weight_yz: np.ndarray,
    voxel_size_mm: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Open the interhemispheric fissure to a per-case width; returns (gm, csf), (X, Y, Z).

    The GM within a half-width of the midline turns into CSF (partial volume over
    ``FISSURE_EDGE_MM`` at the edge, at least one voxel), where ``weight_yz`` ((Y, Z) in
    [0, 1], ``folding.fissure_weight_yz``) says the midline is fissure. Half-width and centre
    vary smoothly along the fissure (``FISSURE_HALF_VARIATION``, ``FISSURE_WANDER_MM``): gyri
    bulge into a real fissure and it bends. It closes in stretches (``FISSURE_CLOSE``):
    there the template's CSF on the midline turns into GM. Only GM and CSF move: what crosses
    the midline (corpus callosum, WM) stays.
    """
    half_mm = rng.uniform(*FISSURE_HALF_MM)
    wander_std, wander_mm = FISSURE_WANDER_MM
    fields = smooth_field((1, *gm.shape[1:]), wander_mm / voxel_size_mm, rng, channels=3)[:, 0]
    above, gain = FISSURE_CLOSE
    closed = np.clip((fields[2] - np.float32(above)) * np.float32(gain), 0.0, 1.0) * weight_yz
    centre = midline_x + fields[0] * np.float32(wander_std / voxel_size_mm)
    half = half_mm / voxel_size_mm * np.clip(1 + FISSURE_HALF_VARIATION * fields[1], 0.2, None)
    edge = np.float32(max(1.0, FISSURE_EDGE_MM / voxel_size_mm))
    reach = int(np.ceil(half.max() + np.abs(centre - midline_x).max() + edge / 2)) + 1
    lo, hi = max(int(midline_x) - reach, 0), min(int(midline_x) + reach + 2, gm.shape[0])
    x = np.arange(lo, hi, dtype=np.float32)[:, None, None]
    ramp = (half[None] + edge / 2 - np.abs(x - centre[None])) / edge
    share = np.clip(ramp, 0.0, 1.0) * (weight_yz * (1 - closed))[None]
    gm, csf = gm.copy(), csf.copy()
    # the template's line of CSF: within a voxel of the midline, fading over the next
    line = np.clip(1.5 - np.abs(x - np.float32(midline_x)), 0.0, 1.0)
    shut = csf[lo:hi] * line * closed[None]
    opened = gm[lo:hi] * share
    gm[lo:hi] += shut - opened
    csf[lo:hi] += opened - shut
    return gm, csf
