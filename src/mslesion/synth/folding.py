"""Cortical folding the MNI152 average lost: extra sulci, deeper sulci, gyral WM cores.

Averaging 152 brains keeps only the large, consistent sulci and smears the rest into a 6-15 mm
band of GM with no WM inside; an individual brain has roughly twice as many sulci (small sulci
at the vertex, on the medial surface, side branches), they reach 15-20 mm in, and every gyrus
is a ~3 mm cortical ribbon around a WM core. All of it is drawn once into the 1 mm template
(fixed seed, cached with it): :func:`extra_sulci` splits the smeared GM with new sulcal sheets,
:func:`thin_cortex` turns GM more than 3 mm from any pia into the gyri's WM cores,
:func:`deep_sulci` continues every sulcus into the WM with its cortex (the cerebellum's folia
are :mod:`mslesion.synth.folia`). Each sample then opens a random, regionally varying share of
every sulcal line into CSF (``atrophy.open_sulci``) and deforms the whole anatomy, so cases
still differ."""

from __future__ import annotations

from collections.abc import Callable

import cc3d
import numpy as np
from scipy import ndimage

from mslesion.synth.normal import mm_grid

#: Fixed seed of the template's procedural folding (part of the cached template content).
FOLDING_SEED = 20240603
#: Gaussian smoothing (mm) of the white noise whose zero set, extruded inward from the brain
#: surface, gives the new sulci: zero crossings are ~pi*sqrt(2)*sigma = 13 mm apart along the
#: surface, which with the template's own sulci gives gyri about as dense as in the real scans.
SULCUS_FIELD_SIGMA_MM = 3.0
#: Std of the random lean of a new sulcus per mm of depth (0.3: ~17 degrees, so a 12 mm deep
#: sulcus curves ~3.5 mm sideways); a straight extrusion along the normal looked like spokes.
SULCUS_BEND = 0.3
#: Depth range (mm below the pia) the extra sulci of :func:`extra_sulci` reach.
EXTRA_SULCUS_DEPTH_MM = (5.0, 16.0)
#: How far (mm) :func:`deep_sulci` continues a sulcus into the WM: a random length in this
#: range, varying over ~6 mm along the cortex. (2-7 mm first: GM 61 % of GM + WM; 56 % now.)
DEEP_SULCUS_EXTENSION_MM = (1.5, 5.5)
#: The depth below the pia (mm) a continued sulcus never passes, and how close (mm) to the
#: lateral ventricles it never comes (the corpus callosum and periventricular WM stay whole).
DEEP_SULCUS_MAX_DEPTH_MM, DEEP_SULCUS_VENTRICLE_MM = 20.0, 14.0
#: Cortical thickness (mm, +1 mm ramp) along a continued sulcus: real cortex is thinnest in
#: the fundi, ~2/3 of a crown's thickness. (``PIAL_CORTEX_MM`` at first: 4 mm from any dark
#: voxel the 2D cases' cortex read 1.11 x NAWM, now 1.09, the real 2D scans' 1.05.)
DEEP_SULCUS_CORTEX_MM = 1.5
#: Fewest voxels of a fundus piece that :func:`deep_sulci` continues.
DEEP_SULCUS_MIN_FUNDUS = 20
#: Strength of the line a continued sulcus draws (the template's own lines reach 1). Drawn
#: fainter (0.35, 0.49), the deep sulci stayed closed, a GM band with no dark line in it, and
#: 4 mm from any dark voxel the benchmark's cortex read 1.08 x NAWM against the real 1.04.
DEEP_SULCUS_LINE = 1.0


def unit_field(shape: tuple[int, ...], sigma_vox: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth Gaussian random field, float32, zero mean and unit std."""
    g = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sigma_vox)
    g -= g.mean()
    return g / max(float(g.std()), 1e-6)


#: Footprint (voxels) over which :func:`sulcal_core` finds a line's half width.
CORE_FOOTPRINT_VOX = 5


def sulcal_core(sulci: np.ndarray) -> np.ndarray:
    """Float32 [0, 1] like ``sulci``: how central a voxel lies across its sulcal line.

    1 on the middle of a line (``sulci`` > 0.5), falling linearly to ~0 at its edges, 0 off
    the lines: the distance to the line's edge over the line's local half width. A sulcus
    opens from its middle out (``atrophy.open_sulci``): a thin sheet of pure CSF between two
    banks of cortex, as in a single brain, not the whole line at a partial share, which drew
    grey, hardly visible sulci. (No library has this profile: EDT and a maximum filter.)
    """
    line = sulci > 0.5
    inside = ndimage.distance_transform_edt(line)
    half_width = ndimage.maximum_filter(inside, size=CORE_FOOTPRINT_VOX)
    core = (inside - 0.5) / np.maximum(half_width - 0.5, 0.5)
    return np.where(line, np.clip(core, 0.0, 1.0), 0.0).astype(np.float32)


def _sheet_distance(
    shape: tuple[int, ...], surface_pts: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """For points on the pial surface ((3, N) voxel coordinates): the distance (mm, along the
    surface) to the zero set of a new random sulcus field, and the depth (mm, within
    ``EXTRA_SULCUS_DEPTH_MM``) the sulcus there reaches. Each call draws its own fields (two,
    of ``shape``)."""
    g = unit_field(shape, SULCUS_FIELD_SIGMA_MM, rng)
    # distance to the zero set ~ |g| / |grad g| along the surface (2 of 3 gradient axes); the
    # local gradient, floored at a third of its RMS, keeps the sheets ~1 mm thin even where the
    # field is flat (a global RMS there drew millimetre-thick slabs that ate the gyral WM)
    grad_g = np.gradient(g)
    grad_rms = float(np.sqrt(np.mean(sum(d * d for d in grad_g)) * 2.0 / 3.0))
    local = np.sqrt(sum(ndimage.map_coordinates(d, surface_pts, order=1) ** 2 for d in grad_g))
    local = np.maximum(local * np.float32(np.sqrt(2.0 / 3.0)), grad_rms / 3.0)
    sheet_mm = np.abs(ndimage.map_coordinates(g, surface_pts, order=1)) / local
    depth_field = ndimage.map_coordinates(unit_field(shape, 6.0, rng), surface_pts, order=1)
    lo, hi = EXTRA_SULCUS_DEPTH_MM
    return sheet_mm, lo + (hi - lo) / (1.0 + np.exp(-1.5 * depth_field))


def extra_sulci(
    wm: np.ndarray,
    sulci: np.ndarray,
    pial_depth_mm: np.ndarray,
    band_weight: np.ndarray,
    affine: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """``sulci`` (float32, (X, Y, Z)) plus the new sulcal lines, on the 1 mm template.

    Each new sulcus is a ~1.2 mm sheet that starts perpendicular to the pial surface and leans
    by a smooth random angle (``SULCUS_BEND``) as it goes in: the zero set of a random field read
    at each voxel's (leaned) projection onto the pial surface (``pial_depth_mm``: distance to
    :func:`mslesion.synth.anatomy.pial_outside`, in mm), reaching a random 5-16 mm below it.
    Only in the cortical band (``band_weight``) and only through the thick GM the average left
    (>= 1 mm from WM): a new sulcus splits a smeared gyrus, never a gyral WM core.
    :func:`thin_cortex` then gives each new gyrus its WM core.
    """
    depth = pial_depth_mm
    region = band_weight * (depth > 0)
    band = region > 0
    # each band voxel's projection onto the outer surface, along the smoothed depth gradient
    # (continuous, unlike the nearest surface voxel, whose Voronoi cells draw blocky sheets)
    grads = np.gradient(ndimage.gaussian_filter(depth, 1.0))
    pts = np.stack(np.nonzero(band)).astype(np.float32)
    normal = np.stack([gr[band] for gr in grads])
    normal /= np.maximum(np.sqrt((normal * normal).sum(0)), 1e-3)
    surface_pts = pts - normal * depth[band]
    # real sulci curve and lean as they go in; straight extrusions read as spokes in a slice:
    # tilt each sheet by a smooth random angle (about tan^-1 BEND, varying over ~8 mm)
    bend = np.stack([unit_field(wm.shape, 8.0, rng)[band] for _ in range(3)])
    surface_pts += bend * np.float32(SULCUS_BEND) * depth[band]
    # one field per hemisphere: the medial cortices of both project onto the same fissure, and
    # one shared field drew mirror-image sulci that met across the midline as crosses
    right = (affine[0, 0] * pts[0] + affine[0, 3]) > 0
    sheet_mm = np.full(wm.shape, 99.0, np.float32)
    floor = np.zeros(wm.shape, np.float32)  # depth (mm) the sulcus reaches
    band_idx = np.flatnonzero(band)
    for side in (~right, right):
        sheet, reach = _sheet_distance(wm.shape, surface_pts[:, side], rng)
        sheet_mm.flat[band_idx[side]] = sheet
        floor.flat[band_idx[side]] = reach
    # a new sulcus splits the thick GM the average left, never a gyrus' WM core (cutting those
    # left the template's WM fingers as stubs): nothing within 1 mm of WM, full weight from 2.5 mm
    in_thick_gm = np.clip((ndimage.distance_transform_edt(wm < 0.5) - 1.0) / 1.5, 0.0, 1.0)
    line = np.clip((0.9 - sheet_mm) / 0.6, 0.0, 1.0) * np.clip((floor - depth) / 2.0, 0.0, 1.0)
    line *= region * in_thick_gm
    return np.maximum(sulci, line).astype(np.float32)


def _sheet_normals(smooth: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Unit normals (3, N) of the sheets of a smoothed line map (X, Y, Z) at integer voxels
    ``pts`` (3, N): the Hessian's eigenvector of the most negative eigenvalue (across a bright
    sheet the map curves down most), from central differences one voxel apart."""
    upper = np.array(smooth.shape)[:, None] - 1
    unit = np.eye(3, dtype=np.int64)

    def at(offset: np.ndarray) -> np.ndarray:
        return smooth[tuple(np.clip(pts + offset[:, None], 0, upper))]

    hessian = np.zeros((pts.shape[1], 3, 3), np.float32)
    centre = at(np.zeros(3, np.int64))
    for i in range(3):
        hessian[:, i, i] = at(unit[i]) - 2 * centre + at(-unit[i])
        for j in range(i + 1, 3):
            plus, minus = unit[i] + unit[j], unit[i] - unit[j]
            cross = (at(plus) - at(minus) - at(-minus) + at(-plus)) / 4
            hessian[:, i, j] = hessian[:, j, i] = cross
    _, vectors = np.linalg.eigh(hessian)  # eigenvalues ascending: column 0 the most negative
    return vectors[:, :, 0].T


def _fundus_points(
    sulci: np.ndarray, band_weight: np.ndarray, inward: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Voxel coordinates (3, N) float32 where a sulcal sheet running inward stops: a line voxel
    (``sulci`` > 0.5, in the band) with no line 1.5 mm further in along its own sheet, on a
    sheet that contains the inward direction (``inward``: unit vectors (3, N) at points
    (3, N)), in pieces of at least ``DEEP_SULCUS_MIN_FUNDUS`` voxels."""
    pts = np.stack(np.nonzero((sulci > 0.5) & (band_weight > 0.5)))
    inward_at = inward(pts.astype(np.float32))
    sheet = _sheet_normals(ndimage.gaussian_filter(sulci, 1.0), pts)
    across = (sheet * inward_at).sum(0)
    # "further in" along the sheet itself: the inward direction less its part across the sheet
    along = inward_at - across * sheet
    along /= np.maximum(np.sqrt((along * along).sum(0)), 1e-3)
    ahead = ndimage.map_coordinates(sulci, pts + 1.5 * along, order=1)
    # the sheet's normal at > 60 degrees from the inward direction: the inner face of a sheet
    # lying along the surface would otherwise be swept inward into a slab
    keep = (ahead < 0.5) & (np.abs(across) < 0.5)
    fundus = np.zeros(sulci.shape, bool)
    fundus[tuple(pts[:, keep])] = True
    # a fundus is a curve along the sulcus; its scattered points (a line's corner, a fragment)
    # extruded drew cortex tubes that read as grey discs in the WM
    pieces = cc3d.connected_components(fundus, connectivity=26)
    fundus &= (np.bincount(pieces.ravel()) >= DEEP_SULCUS_MIN_FUNDUS)[pieces]
    return np.stack(np.nonzero(fundus)).astype(np.float32)


def deep_sulci(
    gm: np.ndarray,
    wm: np.ndarray,
    sulci: np.ndarray,
    pial_depth_mm: np.ndarray,
    band_weight: np.ndarray,
    vent_dist_mm: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every sulcus continued into the WM, lined with cortex: (gm, wm, sulci) float32 (X, Y, Z).

    The average kept its WM as a broad mass a few mm under a shallow cortex: its sulci (and the
    extra ones, which stop at the WM) ended 5-10 mm below the surface, so the synthetic gyri
    were lumps with short dark dashes between them, where a real scan shows long WM fingers,
    each a thin core between two bright cortical ribbons, reaching 15-20 mm in. Here each
    sulcal line's fundus (:func:`_fundus_points`) is extruded inward, along the smoothed
    gradient of the depth below the pia (``pial_depth_mm``), by a random length that varies
    over ~6 mm along the cortex (``DEEP_SULCUS_EXTENSION_MM``), never deeper than
    ``DEEP_SULCUS_MAX_DEPTH_MM``, nor within ``DEEP_SULCUS_VENTRICLE_MM`` of the ventricles
    (``vent_dist_mm``: the corpus callosum and the periventricular WM are never cut), nor out of
    the cortical band (``band_weight``). The WM within ``DEEP_SULCUS_CORTEX_MM`` (+1 mm ramp)
    of an extension becomes GM (GM + WM conserved), a thinner ribbon than :func:`thin_cortex`
    leaves along every other pia (run it first). The continuation is drawn into ``sulci`` at
    ``DEEP_SULCUS_LINE``, so each case opens it like any sulcus, less with depth; the template
    keeps it out of the pia that each case's atrophy moves in (deep down a sulcus is closed).
    Hand-written: no library extrudes a sulcal sheet.
    """
    shape = gm.shape
    lo, hi = DEEP_SULCUS_EXTENSION_MM
    length = lo + (hi - lo) / (1.0 + np.exp(-1.5 * unit_field(shape, 6.0, rng)))
    gradient = np.gradient(ndimage.gaussian_filter(pial_depth_mm, 3.0))

    def inward(at: np.ndarray) -> np.ndarray:
        direction = np.stack([ndimage.map_coordinates(g, at, order=1) for g in gradient])
        return direction / np.maximum(np.sqrt((direction * direction).sum(0)), 1e-3)

    pts = _fundus_points(sulci, band_weight, inward)
    reach = ndimage.map_coordinates(length, pts, order=0).astype(np.float32)
    # march every fundus point inward in 0.5 mm steps; a point stops for good where it has gone
    # its length or left the band, the ventricles' margin or the depth cap
    hits = np.zeros(shape, np.float32)
    upper = np.array(shape, np.float32)[:, None] - 1.0
    step, travelled = np.float32(0.5), np.float32(0.0)
    alive = np.ones(pts.shape[1], bool)
    while alive.any() and travelled < hi:
        pts = np.clip(pts + step * inward(pts), 0.0, upper)
        travelled += step
        idx = tuple(np.rint(pts).astype(np.int64))
        alive &= (travelled <= reach) & (band_weight[idx] > 0.5)
        alive &= vent_dist_mm[idx] > DEEP_SULCUS_VENTRICLE_MM
        alive &= pial_depth_mm[idx] < DEEP_SULCUS_MAX_DEPTH_MM
        hits[tuple(i[alive] for i in idx)] = 1.0
    sheet = np.clip(ndimage.gaussian_filter(hits, 0.6) * 2.5, 0.0, 1.0) * band_weight
    if not (sheet > 0.5).any():  # (the distance transform of an empty set is not "far")
        return gm, wm, sulci
    near_mm = ndimage.distance_transform_edt(sheet < 0.5)
    lining = np.clip(DEEP_SULCUS_CORTEX_MM + 1.0 - near_mm, 0.0, 1.0) * band_weight
    to_gm = wm * lining
    return (
        (gm + to_gm).astype(np.float32),
        (wm - to_gm).astype(np.float32),
        np.maximum(sulci, sheet * np.float32(DEEP_SULCUS_LINE)).astype(np.float32),
    )


#: Cortical thickness (mm) kept along every pial surface by :func:`thin_cortex`; real cortex is
#: 2.5-3 mm, a little more with partial volume at 1 mm. (3.0 until round 15: 3 and 4 mm from
#: a dark sulcus the cortex read 1.09 and 1.08 x NAWM in 6 2D cases vs 1.05 and 1.04 in the
#: real 2D scans, a wide, soft ribbon; 2.5 mm gave 1.07 and 1.06 (a one-off script). The GM
#: share of the template fell from 0.53 to 0.51. 2.5 until round 24: above MNI z = -2 mm,
#: 2 / 3 / 4 mm from a dark voxel the 3D cases' cortex read 1.11-1.17 / 1.07-1.12 / 1.01-1.04
#: x NAWM vs 1.10 / 1.02-1.04 / 0.99-1.00 in the real 3D scans, the 2D cases' 1.04-1.08 /
#: 1.07-1.15 / 1.06-1.13 vs 0.99-1.05 / 1.03-1.07 / 1.02-1.05; one-off script.)
PIAL_CORTEX_MM = 2.0
#: Boxes of non-cortical or allocortical GM in MNI mm, (lo, hi) on |x|, y, z, that the folding
#: leaves alone: the deep grey nuclei (caudate, putamen, pallidum, thalamus) and the mesial
#: temporal lobe (hippocampus, amygdala). Hand-placed like the other MNI-mm anatomy: their GM
#: lies as deep below the pia as a smeared gyrus, so no distance rule tells them apart.
NON_CORTICAL_BOXES_MM = (
    ((0.0, 33.0), (-42.0, 28.0), (-16.0, 21.0)),
    ((14.0, 40.0), (-42.0, 6.0), (-32.0, -4.0)),
)


def non_cortical_grey(shape: tuple[int, int, int], affine: np.ndarray) -> np.ndarray:
    """Bool (X, Y, Z): inside any of ``NON_CORTICAL_BOXES_MM`` (grid with a diagonal affine)."""
    x, y, z = mm_grid(shape, affine)
    out = np.zeros(shape, bool)
    for box in NON_CORTICAL_BOXES_MM:
        inside = [(v >= lo) & (v <= hi) for v, (lo, hi) in zip((np.abs(x), y, z), box, strict=True)]
        out |= inside[0] & inside[1] & inside[2]
    return out


#: How far (mm) from the interhemispheric fissure's pia the medial surface's own sulci are
#: traced (:func:`medial_cortex`): the cingulate sulcus lies ~10-15 mm lateral of it.
MEDIAL_REACH_MM = 16.0


def medial_cortex(falx: np.ndarray, vent_dist: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Bool (X, Y, Z): the medial cortex, within ``MEDIAL_REACH_MM`` of the fissure's pia
    (``falx``, bool), more than 3 mm from the lateral ventricles (``vent_dist``, mm) and
    outside :func:`non_cortical_grey`.

    Measured from the outer hull, the medial surface lies 20-40 mm deep, where the template's
    sulcal lines stop (they would otherwise run through the deep grey nuclei): the cingulate
    and callosal sulci went undrawn, :func:`thin_cortex` turned the cingulate gyrus into WM,
    and a sagittal slice 6 mm off the midline showed WM with GM dashes above the corpus
    callosum where a real one shows two long dark arcs around the cingulate gyrus.
    """
    near = ndimage.distance_transform_edt(~falx) < MEDIAL_REACH_MM
    return near & (vent_dist > 3.0) & ~non_cortical_grey(falx.shape, affine)


def cortical_band(
    pial_depth_mm: np.ndarray, cerebellum: np.ndarray, affine: np.ndarray
) -> np.ndarray:
    """Float32 [0, 1] (X, Y, Z): where the folding may change the cerebral cortex.

    < 20 mm below the pial surface (``pial_depth_mm``: outside the brain, the interhemispheric
    fissure, CSF-filled fissures; 3 mm ramp), outside the cerebellum (+3 mm) and
    :func:`non_cortical_grey`.
    """
    keep_out = ndimage.binary_dilation(cerebellum, iterations=3)
    keep_out |= non_cortical_grey(pial_depth_mm.shape, affine)
    return (np.clip((20.0 - pial_depth_mm) / 3.0, 0.0, 1.0) * ~keep_out).astype(np.float32)


def thin_cortex(
    gm: np.ndarray, wm: np.ndarray, sulci: np.ndarray, outer: np.ndarray, band_weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cortex no thicker than ``PIAL_CORTEX_MM`` from its pia: (gm, wm, sulci) float32 (X, Y, Z).

    Where the average's sulci disagree between brains, its GM is a 6-15 mm band with no gyral
    WM core, which renders as a thick, flat bright rim. In one brain every cortical voxel lies
    within ~3 mm of the pia (``outer`` or a sulcal line), so in the cortical band
    (``band_weight``) GM further than that becomes WM (1 mm ramp; GM + WM is conserved), and a
    sulcal line left inside that new WM is dropped.
    """
    pial_mm = ndimage.distance_transform_edt(~(outer | (sulci > 0.5))).astype(np.float32)
    deep = np.clip(pial_mm - PIAL_CORTEX_MM, 0.0, 1.0) * band_weight
    to_wm = gm * deep
    return (
        (gm - to_wm).astype(np.float32),
        (wm + to_wm).astype(np.float32),
        (sulci * (1.0 - deep)).astype(np.float32),
    )


def fissure_weight_yz(
    tissue: np.ndarray,
    wm: np.ndarray,
    infra: np.ndarray,
    affine: np.ndarray,
    reach_vox: int = 1,
) -> tuple[float, np.ndarray]:
    """(x index of the midline, weight (Y, Z) float32 in [0, 1]): 1 where the midline is the
    interhemispheric fissure (brain tissue within ``reach_vox`` voxels of it, no WM, no deep
    grey, not ``infra``), fading to 0 within ~8 mm of what crosses the midline (corpus
    callosum, commissures, thalami, brainstem, vermis). ``tissue``: (X, Y, Z) share of brain
    tissue; ``wm`` its WM share; ``infra`` bool; ``affine`` diagonal."""
    voxel_mm = abs(float(affine[0, 0]))
    midline = float(-affine[0, 3] / affine[0, 0])
    centre = int(round(midline))
    slab = slice(max(centre - 1, 0), centre + 2)
    near = slice(max(centre - reach_vox, 0), centre + reach_vox + 1)
    inside = tissue[near].max(0) > 0.5
    crossing = (wm[slab].max(0) > 0.5) | infra[slab].any(0)
    crossing |= non_cortical_grey(tissue.shape, affine)[centre]
    reach = max(int(round(8.0 / voxel_mm)), 1)
    free = inside & ~ndimage.binary_dilation(crossing, iterations=reach)
    weight = ndimage.gaussian_filter(free.astype(np.float32), 2.0 / voxel_mm)
    return midline, np.clip(weight * 1.5, 0.0, 1.0).astype(np.float32)


#: How far (mm) :func:`narrow_fissure` pulls each hemisphere's medial surface towards the
#: midline, and over what distance from it (mm) the pull fades out.
FISSURE_PULL_MM, FISSURE_PULL_REACH_MM = 1.5, 10.0


def narrow_fissure(
    volumes: tuple[np.ndarray, ...], midline: float, weight_yz: np.ndarray
) -> tuple[np.ndarray, ...]:
    """The 1 mm ``volumes`` (X, Y, Z) with both hemispheres pulled towards the midline by up to
    ``FISSURE_PULL_MM`` where ``weight_yz`` (:func:`fissure_weight_yz`) is 1: a voxel ``d`` mm
    from the midline takes the value ``d + pull`` mm out (linear along X), the pull rising
    over the first mm and fading to 0 at ``FISSURE_PULL_REACH_MM``.

    The MNI152 average holds the interhemispheric fissure ~3 mm wide (CSF 0.3-0.7 at x = -1, 0,
    +1 mm above the corpus callosum, wider behind); a real one is a thin falx between two
    medial cortices. A deformed case's midline sagittal slice, a degree or two off the
    midline, ran inside it and showed a dark frontal lobe where a real one shows the medial
    cortex (narrowed, the dark share of that area fell from 0.20 to 0.14 over 8 seeds; the
    rest is atrophy at the fissure's pia). A linear resampling along X on the slab only, by
    hand: ``map_coordinates`` would need full 3D coordinates for a 1D shift.
    """
    reach = int(np.ceil(FISSURE_PULL_REACH_MM)) + 1
    lo = max(int(np.floor(midline)) - reach, 0)
    hi = min(int(np.ceil(midline)) + reach + 1, volumes[0].shape[0])
    d = np.arange(lo, hi, dtype=np.float32) - np.float32(midline)  # mm, signed
    dist = np.abs(d)
    pull = (
        FISSURE_PULL_MM
        * np.minimum(dist, 1.0)
        * np.clip((FISSURE_PULL_REACH_MM - dist) / (FISSURE_PULL_REACH_MM - 1.0), 0.0, 1.0)
    )
    # source x index per (x, y, z) of the slab: further from the midline by pull x weight
    shift = (np.sign(d) * pull)[:, None, None] * weight_yz[None]
    src = np.arange(lo, hi, dtype=np.float32)[:, None, None] + shift
    src = np.clip(src, 0, volumes[0].shape[0] - 1.001)
    below = np.floor(src).astype(np.int64)
    frac = (src - below).astype(np.float32)
    out = []
    for vol in volumes:
        moved = vol.copy()
        a = np.take_along_axis(vol, below, axis=0)
        b = np.take_along_axis(vol, below + 1, axis=0)
        moved[lo:hi] = a * (1 - frac) + b * frac
        out.append(moved.astype(vol.dtype, copy=False))
    return tuple(out)
