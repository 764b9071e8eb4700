"""The kinds of procedural MS lesion, and ``place_procedural``, which mixes them.

Real MS lesions are not all round blobs, so each kind has its own painter:

- focal lesions (:func:`_paint_focal`): lumpy, bent ovoids, some with a second lobe; large ones
  are chains of merged lobes with a ragged outline and thin branches. Periventricular ones are
  40 % Dawson's fingers (rooted at the ventricle wall, reaching out along its normal), 30 % flat
  sheets lying on the wall, 30 % blobs (:func:`_focal_pose`);
- confluent bands (:func:`_paint_band`): tapered, lumpy WM along the ventricle wall, with
  Dawson's fingers reaching out (:func:`_add_fingers`);
- posterior plaques (:func:`_paint_plaque`): chains of flat lobes walked along the wall from
  the trigones and occipital horns, spiky with Dawson's fingers.

The canvas, the placement context and the zone shares, sizes and contrasts they draw from are in
:mod:`mslesion.synth.lesions` (imported here, never the other way round).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from mslesion.synth.anatomy import ZONES
from mslesion.synth.config import LESION_COUNTS, SynthConfig
from mslesion.synth.fields import lookup
from mslesion.synth.lesion_geometry import (
    box_slices,
    coarse_noise,
    crop_slices,
    frame_along,
    largest_piece,
    local_grid,
    piece_at,
    ragged_outline,
    random_rotation,
    wall_frame,
)
from mslesion.synth.lesions import (
    MIN_LESION_CONTRAST,
    PERI_CENTRE_MM,
    ZONE_SHARES,
    LesionCanvas,
    PlacementContext,
    candidate_points,
    draw_contrast,
    draw_volume_mm3,
    ellipsoid_shape,
    paint,
    rim_alpha,
)

#: Share of focal blobs with a smaller second lobe merged on.
SATELLITE_SHARE = 0.5
#: Focal lesions drawn larger than this (mm^3) get one or two more lobes.
LOBED_FROM_MM3 = 150.0
#: Share of confluent lesions that are large posterior plaques (trigone, occipital horns).
POSTERIOR_BAND_SHARE = 0.6  # (the rest: tapered bands with fingers anywhere)
#: Rim weight at the edge of large lesions (plaques, bands, lobed focal lesions), and their
#: core / NAWM range. Real ones are about as bright 2 voxels in as 3 (the benchmark's edge
#: profile, medians over the real scans: 1.43, 1.58, 1.57 x NAWM at 1, 2, 3 voxels deep) and
#: their intensity varies without a bright centre. With round 10's soft rims (plaques 3 mm
#: down to 0.45) and bright cores (up to 2.45), and round 11's fringe, 8 cases (a one-off run)
#: read 1.50, 1.78, 2.00; this flatter rim (1.5 mm, 0.8 at the edge) and these cores, with the
#: focal lesions' new ones (``lesions.RIM_MIN_ALPHA``, ``draw_contrast``), 1.46, 1.67, 1.81
#: on the same lesions; the round's final benchmark 1.47, 1.63, 1.75. Still exact: a mask
#: voxel is (1-a) max(tissue, 1) + a c with
#: c >= ``LARGE_MIN_CONTRAST``, which at ``LARGE_RIM_MIN_ALPHA`` still lifts the brightest
#: tissue a lesion may sit in (WM <= 1.3, x1.2 at the caps: 1.56) by > 0.07.
LARGE_RIM_MIN_ALPHA = 0.8
LARGE_MIN_CONTRAST = MIN_LESION_CONTRAST + 0.05
LARGE_CORES = (LARGE_MIN_CONTRAST, 1.95)
#: Ragged outlines of large lesions (:func:`_ragged`): inlet depth and noise spacing, x the
#: lesion's minor radius (spacing >= 2 mm). Fill of lesions >= 300 voxels 0.63 -> ~0.48 (real 0.39).
RAGGED_DEPTH, RAGGED_CELL = 1.0, 0.6
#: Lobed focal lesions are drawn larger (volume x): the ragged cut takes a quarter to 40 % of
#: the voxels.
RAGGED_VOLUME_GAIN = 1.35
#: Lobed focal lesions (drawn > ``LOBED_FROM_MM3``): how many thin branches they get (drawn
#: from ``range(*FOCAL_BRANCHES)``, one fewer on flat ones) and how much longer the long axis
#: of the blobs among them is drawn. The real masks' lesions of 300-1,000 voxels measure
#: elongation 2.10 / 2.88 / 3.76 and fill 0.36 / 0.53 / 0.69 (25th / 50th / 75th percentiles,
#: n = 92); round 10's lumpy chains of lobes, painted one at a time (150 draws, a one-off
#: script), 2.13 / 2.72 / 3.80 and 0.56 / 0.64 / 0.69: too full. With the branches and the
#: stretch, 2.32 / 2.98 / 4.10 and 0.43 / 0.54 / 0.62.
FOCAL_BRANCHES, LOBED_BLOB_STRETCH = (1, 4), 1.4
#: Periventricular lesions keep the tissue within this many mm of the ventricle wall uncut.
WALL_FOOTING_MM = 2.0
#: Semi-axes (mm) of a confluent band's ellipse on the ventricle wall, along the ventricle and
#: across it (round 10: longer and narrower than the 13-28 mm discs before, which wrapped round
#: the ventricle as evenly thick crescents).
BAND_ALONG_MM, BAND_ACROSS_MM = (24.0, 42.0), (6.0, 11.0)
#: Share of plaques walked forward from the trigone along the body of the ventricle (the rest
#: go back along the occipital horn, which is short: their lobes pile up at its tip).
PLAQUE_FORWARD_SHARE = 0.7
#: Dawson's fingers of confluent lesions: semi-length and radii (mm). Real confluent lesions
#: of >= 1,000 voxels are spiky, many-branched masses (the real masks: fill 0.24 at 1,000-5,000
#: voxels, 0.13 above; elongation 3.3-3.7); the 1-4 fingers of 3-7 mm x 1.2-2.5 mm on bands
#: (0-3 on plaques) until round 10 left smooth lobes with a few spikes.
FINGER_LENGTH_MM, FINGER_RADIUS_MM = (3.0, 9.0), (1.0, 2.8)


def place_procedural(
    ctx: PlacementContext, canvas: LesionCanvas, config: SynthConfig, rng: np.random.Generator
) -> None:
    """Draw the count for ``config.lesion_load``; paint blobs, Dawson's fingers and bands."""
    lo, hi = LESION_COUNTS[config.lesion_load]
    n_lesions = int(rng.integers(lo, hi + 1))
    points = candidate_points(ctx, rng)
    if not points:
        return
    zones = np.array(sorted(points))
    shares = np.array([ZONE_SHARES[z] for z in zones])
    v = ctx.voxel_size_mm
    n_bands = {"low": 0, "medium": int(rng.integers(1, 4)), "high": int(rng.integers(2, 6))}[
        config.lesion_load
    ]
    if 1 in points:
        peri = points[1]
        dist = lookup(ctx.template.vent_dist, ctx.coords[tuple(peri.T)], order=1)
        if np.any(dist <= PERI_CENTRE_MM):
            points[1] = peri[dist <= PERI_CENTRE_MM]  # focal lesions; bands use all of ``peri``
        # MS plaques cluster at the trigones and occipital horns (as in MSLesSeg P14): most
        # confluent lesions are plaques behind the ventricles' centre (smaller Y = posterior)
        posterior = peri[peri[:, 1] < np.median(peri[:, 1]) - 10.0 / v]
        for _ in range(n_bands):
            if posterior.size > 0 and rng.random() < POSTERIOR_BAND_SHARE:
                _paint_plaque(ctx, canvas, posterior[rng.integers(len(posterior))], rng)
            else:
                _paint_band(ctx, canvas, peri[rng.integers(len(peri))], rng)
    for _ in range(n_lesions):
        zone = int(rng.choice(zones, p=shares / shares.sum()))
        centre = points[zone][rng.integers(len(points[zone]))].astype(np.float32)
        _paint_focal(ctx, canvas, zone, centre, draw_volume_mm3(zone, rng), rng)


def _ventricle_normal(ctx: PlacementContext, centre: np.ndarray) -> np.ndarray:
    """Unit direction away from the ventricles at ``centre`` (output voxels), by central
    differences (straight up where the distance map is flat)."""
    offsets = np.concatenate([np.eye(3), -np.eye(3)]) * 2 + centre
    offsets = np.clip(offsets, 0, np.array(ctx.allowed.shape) - 1).astype(int)
    d = lookup(ctx.template.vent_dist, ctx.coords[tuple(offsets.T)], order=1)
    grad = d[:3] - d[3:]
    norm = float(np.linalg.norm(grad))
    return grad / norm if norm > 1e-3 else np.array([0.0, 0.0, 1.0])


def _blob_aspect(rng: np.random.Generator) -> np.ndarray:
    """Relative radii (long, middle, short) of a focal lesion: real ones are ovoid, not round.

    Long / short drawn log-normal around 2.3, the middle axis in between: clipped to tissue
    and voxelised, with the bend and the second lobe, they measure a median elongation (sqrt
    of the largest / smallest second-moment eigenvalue) of 2.2, as the real masks' lesions of
    10-300 voxels do (2.25); the round blobs of round 5 (radii 0.75-1.3) measured 1.35-1.46,
    round 7's 2.6 gave 2.4.
    """
    long = float(np.clip(rng.lognormal(np.log(2.3), 0.35), 1.3, 5.0))
    return np.array([long, long ** rng.uniform(0.2, 0.6), 1.0])


def _focal_pose(
    ctx: PlacementContext, zone: int, centre: np.ndarray, r_eq: float, rng: np.random.Generator
) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """(kind, relative radii (long, middle, short), frame, centre) of one focal lesion of
    equivalent radius ``r_eq`` voxels: periventricular ones are 40 % Dawson's fingers, 30 %
    flat on the wall, 30 % blobs; elsewhere all blobs."""
    periventricular = rng.random() if zone == 1 else 1.0
    if periventricular < 0.4:
        # a Dawson's finger: rooted at the wall, reaching out along its normal (centred on a
        # point within 5 mm of the wall, the ventricle clipped away half of it)
        aspect = np.array([rng.uniform(2.0, 3.5), 0.8, 0.8])
        long_radius = r_eq * aspect[0] / np.cbrt(aspect.prod())
        centre, normal = _onto_wall(ctx, centre, 0.7 * long_radius)
        return "ovoid", aspect, frame_along(normal, rng), centre
    if periventricular < 0.7:
        # flat on the wall, long along the ventricle (front-back): many of the real masks'
        # lesions of 300-1000 voxels are such sheets (median elongation 2.9; of those >= 300
        # voxels, 57 % run closer to Y than to X or Z)
        aspect = np.array([rng.uniform(2.2, 4.0), rng.uniform(1.0, 1.6), 0.7])
        heading = np.array([0.0, 1.0, 0.0]) + rng.normal(0.0, 0.35, 3)
        depth = 0.7 * r_eq / np.cbrt(aspect.prod())  # the short radius: abut the wall
        centre, normal = _onto_wall(ctx, centre, depth)
        return "flat", aspect, wall_frame(heading, normal, rng), centre
    return "blob", _blob_aspect(rng), random_rotation(rng), centre


def _paint_focal(
    ctx: PlacementContext,
    canvas: LesionCanvas,
    zone: int,
    centre: np.ndarray,
    volume_mm3: float,
    rng: np.random.Generator,
) -> None:
    """One focal lesion of about ``volume_mm3`` (before clipping to allowed tissue) at
    ``centre`` (output voxels): a lumpy, bent ellipsoid with extra lobes merged on; drawn
    larger than ``LOBED_FROM_MM3``, a ragged, branched chain painted as a large lesion."""
    v = ctx.voxel_size_mm
    lobed = volume_mm3 > LOBED_FROM_MM3  # merged lesions, with a ragged outline
    volume_mm3 *= RAGGED_VOLUME_GAIN if lobed else 1.0  # (the outline cuts some away)
    # coarse grids (tests, quick looks) get proportionally larger lesions so they stay visible
    r_eq = (3 * volume_mm3 * max(1.0, v) / (4 * np.pi)) ** (1 / 3) / v
    kind, aspect, frame, centre = _focal_pose(ctx, zone, centre, r_eq, rng)
    if lobed and kind == "blob":
        aspect = aspect * np.array([LOBED_BLOB_STRETCH, 1.0, 1.0])
    radii = np.maximum(r_eq * aspect / np.cbrt(aspect.prod()), 0.6)
    bend = float(rng.uniform(-0.8, 0.8))
    # many real lesions are two or three that grew together; the larger ones nearly all are
    # (real lesions of 300-1000 voxels: median fill 0.53; single lumpy ellipsoids ~0.8)
    satellite = bool(kind == "blob" and rng.random() < SATELLITE_SHARE)
    # larger lesions: lobes further out along the long axis (a chain of merged lesions)
    n_chained = int(rng.integers(1, 3)) if lobed else 0
    # room for the bend (tips up to 0.8 long radius off the axis), the lumps (+15 %) and the
    # lobes; no more (the crop's size sets the cost of high-load cases)
    reach = max(radii[0], radii[1] + abs(bend) * radii[0]) * 1.15
    if satellite:
        reach = max(reach, 2.2 * radii.max())
    if n_chained:
        reach = max(reach, 2.4 * radii[0])
    if lobed:
        reach = max(reach, 2.8 * radii[0])
    sl = crop_slices(centre, int(np.ceil(reach)) + 2, ctx.allowed.shape)
    grid = local_grid(sl)
    shape_mask = ellipsoid_shape(grid, centre, radii, frame, 0.18, rng, bend)
    # (direction in the lesion's frame, nearest and farthest offset in radii)
    lobes = [(rng.normal(0.0, 1.0, 3), 0.9, 1.4)] if satellite else []
    lobes += [
        (np.array([rng.choice([-1.0, 1.0]), *rng.normal(0.0, 0.4, 2)]), 1.0, 1.6)
        for _ in range(n_chained)
    ]
    for direction, near, far in lobes:
        direction = direction / max(float(np.linalg.norm(direction)), 1e-6)
        offset = frame @ (direction * radii * rng.uniform(near, far))
        lobe = radii * rng.uniform(0.45, 0.75)
        shape_mask |= ellipsoid_shape(grid, centre + offset, lobe, random_rotation(rng), 0.18, rng)
    shape_mask &= ctx.allowed[sl]
    if lobed:
        # ragged like the real ones of >= 300 voxels, with thin branches (``FOCAL_BRANCHES``)
        # and the flat rim and cores of large lesions (``LARGE_RIM_MIN_ALPHA``)
        minor = float(radii[1:].mean())
        shape_mask = _ragged(ctx, shape_mask, sl, minor, zone == 1, rng)
        branch_size = (
            (0.6 * radii[0], 1.3 * radii[0]),  # semi-length, voxels
            (max(0.25 * minor, 0.8), max(0.45 * minor, 1.0)),  # radii
        )
        n_branches = int(rng.integers(*FOCAL_BRANCHES)) - (kind == "flat")
        _add_fingers(ctx, shape_mask, sl, grid, n_branches, rng, branch_size)
        _paint_large(ctx, canvas, sl, largest_piece(shape_mask), ZONES[zone], kind, rng)
        return
    # a 2 mm rim (2.5 mm until round 11)
    alpha = rim_alpha(shape_mask, rim_vox=max(1.0, 2.0 / v))
    paint(canvas, sl, alpha, {"zone": ZONES[zone], "shape": kind, "contrast": draw_contrast(rng)})


def _paint_large(
    ctx: PlacementContext,
    canvas: LesionCanvas,
    sl: tuple[slice, ...],
    shape_mask: np.ndarray,
    zone: str,
    shape: str,
    rng: np.random.Generator,
) -> None:
    """Paint a large lesion's bool crop with the flat rim and cores of large lesions
    (``LARGE_RIM_MIN_ALPHA``: 1.5 mm rim, ``LARGE_CORES``): plaques, bands, merged focal ones."""
    alpha = rim_alpha(shape_mask, max(1.0, 1.5 / ctx.voxel_size_mm), LARGE_RIM_MIN_ALPHA)
    paint(canvas, sl, alpha, {"zone": zone, "shape": shape, "contrast": rng.uniform(*LARGE_CORES)})


def _add_fingers(
    ctx: PlacementContext,
    shape_mask: np.ndarray,
    sl: tuple[slice, ...],
    grid: np.ndarray,
    n_fingers: int,
    rng: np.random.Generator,
    size_vox: tuple[tuple[float, float], tuple[float, float]] | None = None,
) -> None:
    """Add ``n_fingers`` Dawson's fingers to a lesion's crop, in place: thin, slightly bent
    ovoids rooted on the lesion's outer edge (the half of its edge farther from the
    ventricles) and pointing away from the ventricles (+- ~20 degrees: the medullary veins run
    radially), clipped to allowed WM. ``size_vox``: ranges of their semi-length and radii in
    voxels (default ``FINGER_LENGTH_MM``, ``FINGER_RADIUS_MM``, for confluent lesions)."""
    if not shape_mask.any() or n_fingers == 0:
        return
    v = ctx.voxel_size_mm
    origin = np.array([s.start for s in sl])
    edge = np.argwhere(shape_mask & ~ndimage.binary_erosion(shape_mask)) + origin
    if not len(edge):
        return
    dist = lookup(ctx.template.vent_dist, ctx.coords[tuple(edge.T)], order=1)
    roots = edge[dist >= np.median(dist)]
    v_len, v_rad = size_vox or (
        tuple(x / v for x in FINGER_LENGTH_MM),
        tuple(x / v for x in FINGER_RADIUS_MM),
    )
    for _ in range(n_fingers):
        root = roots[rng.integers(len(roots))].astype(np.float32)
        direction = _ventricle_normal(ctx, root) + rng.normal(0.0, 0.3, 3)
        direction /= max(float(np.linalg.norm(direction)), 1e-6)
        length = rng.uniform(*v_len)  # semi-axis: reaches ~1.8 x beyond the root
        radii = np.array([length, *rng.uniform(*v_rad, size=2)], np.float32)
        tip = root + direction * 0.8 * length
        frame = frame_along(direction, rng)
        bend = float(rng.uniform(-0.4, 0.4))
        shape_mask |= ellipsoid_shape(grid, tip, radii, frame, 0.2, rng, bend)
    shape_mask &= ctx.allowed[sl]


def _ragged(
    ctx: PlacementContext,
    shape_mask: np.ndarray,
    sl: tuple[slice, ...],
    radius_vox: float,
    periventricular: bool,
    rng: np.random.Generator,
) -> np.ndarray:
    """The crop with a ragged outline (:func:`lesion_geometry.ragged_outline`) scaled to the
    lesion's minor radius ``radius_vox`` (voxels); periventricular ones keep their footing on
    the wall (distances looked up at its voxels only: whole crops took 0.4 s per case)."""
    keep = None
    if periventricular:
        inside = np.nonzero(shape_mask)
        at = tuple(i + s.start for i, s in zip(inside, sl, strict=True))
        keep = np.zeros_like(shape_mask)
        keep[inside] = lookup(ctx.template.vent_dist, ctx.coords[at]) <= WALL_FOOTING_MM
    cell = max(RAGGED_CELL * radius_vox, 2.0 / ctx.voxel_size_mm)
    return ragged_outline(shape_mask, RAGGED_DEPTH * radius_vox, cell, rng, keep)


def _band_body(
    ctx: PlacementContext, centre: np.ndarray, rng: np.random.Generator
) -> tuple[tuple[slice, ...], np.ndarray, np.ndarray, np.ndarray]:
    """(crop, its voxel grid, bool body, taper) of a confluent band before its outline is cut
    and its fingers added: WM within a lumpy 4-9 mm of the ventricle wall, over an ellipse on
    the wall (``BAND_ALONG_MM`` along the ventricle, ``BAND_ACROSS_MM`` across it), thinning
    to nothing at the ellipse's edge (the thickness is x ``taper``: 1 at the centre, 0 at the
    edge; float32, the crop's shape)."""
    v = ctx.voxel_size_mm
    semi_axes = np.array([rng.uniform(*BAND_ALONG_MM), rng.uniform(*BAND_ACROSS_MM)])
    heading = np.array([0.0, 1.0, 0.0]) + rng.normal(0.0, 0.35, 3)
    frame = wall_frame(heading, _ventricle_normal(ctx, centre), rng)
    thick_mm = rng.uniform(4, 9)  # at the centre; the taper leaves ~60 % of a flat band's volume
    sl = crop_slices(centre, int(semi_axes[0] / v) + 2, ctx.allowed.shape)
    grid = local_grid(sl)
    vent = lookup(ctx.template.vent_dist, ctx.coords[sl], order=1) / v  # mm -> voxels
    # in semi-axes, on the wall's tangent plane only: the band follows the wall where the
    # ventricle curves away from that plane (with the normal counted too, the far ends of a
    # band on the tubular body lay off the wall and came out thicker than its middle)
    local = (grid - centre) @ frame[:, :2] * (v / semi_axes).astype(np.float32)
    taper = np.sqrt(np.clip(1.0 - (local**2).sum(-1), 0.0, 1.0))
    fine, broad = coarse_noise(vent.shape, 7, rng), coarse_noise(vent.shape, 4, rng)
    thickness = (thick_mm * (1.0 + 0.45 * fine) + 1.5 * broad) * taper / v
    body = (vent > 0) & (vent <= thickness) & ctx.allowed[sl]
    return sl, grid, _ragged(ctx, body, sl, thick_mm / v, True, rng), taper  # (as plaques)


def _paint_band(
    ctx: PlacementContext, canvas: LesionCanvas, centre: np.ndarray, rng: np.random.Generator
) -> None:
    """A confluent periventricular lesion: a tapered band on the ventricle wall
    (:func:`_band_body`), longest along the ventricle, with 3-8 Dawson's fingers reaching out.

    A band of one thickness cut off by a sphere read as an evenly bright crescent wrapped round
    the atrium; real confluent lesions are lumpy, taper and send Dawson's fingers into the WM.
    Until round 10 a disc of radius 13-28 mm with 1-4 short fingers: painted one at a time on a
    deformed template (20 draws, a one-off script) the bands measured elongation 2.45, fill
    0.33; now 3.6 and 0.32, with the real masks' lesions of 1,000-5,000 voxels at 3.7 and 0.24.
    """
    sl, grid, shape_mask, _taper = _band_body(ctx, centre, rng)
    _add_fingers(ctx, shape_mask, sl, grid, int(rng.integers(3, 9)), rng)
    shape_mask = largest_piece(shape_mask)  # keep the band in one piece
    # (a 2 mm rim down to 0.6 with cores of 1.8-2.25 until round 11)
    _paint_large(ctx, canvas, sl, shape_mask, "periventricular", "confluent", rng)


def _onto_wall(
    ctx: PlacementContext, point: np.ndarray, depth_vox: float
) -> tuple[np.ndarray, np.ndarray]:
    """``point`` moved along the ventricle normal to ``depth_vox`` voxels from the wall, and
    the unit normal there (two Newton-like steps on the template's distance map)."""
    limit = np.array(ctx.allowed.shape, np.float32) - 1
    normal = np.array([0.0, 0.0, 1.0])
    for _ in range(2):
        point = np.clip(point, 0, limit)
        here = ctx.coords[tuple(np.rint(point).astype(int))][None]
        dist_vox = float(lookup(ctx.template.vent_dist, here, order=1)[0]) / ctx.voxel_size_mm
        normal = _ventricle_normal(ctx, np.rint(point))
        point = point + normal * (depth_vox - dist_vox)
    return np.clip(point, 0, limit).astype(np.float32), normal


def _paint_plaque(
    ctx: PlacementContext, canvas: LesionCanvas, wall: np.ndarray, rng: np.random.Generator
) -> None:
    """A large confluent periventricular plaque starting at a posterior ``wall`` point (the
    trigone / occipital horn, as in MSLesSeg P14) and running along the ventricle.

    A chain of 5-9 lumpy lobes (main radius 7.5-10.5 mm), flattened against the wall and
    abutting it, walked along the wall (mostly forward: ``PLAQUE_FORWARD_SHARE``), clipped to
    allowed WM, given a ragged outline in the WM (:func:`_ragged`), then 6-14 Dawson's fingers
    (:func:`_add_fingers`): an elongated, spiky mass, kept in one piece. Real lesions of
    >= 1,000 voxels measure elongation 3.3-3.7 and fill 0.13-0.24 (the real masks, 57 % of
    those >= 300 voxels longest along Y). Painted one at a time on a deformed template (30
    draws, a one-off script), round 9's 2-5 rounder lobes with 0-3 short fingers measured
    elongation 2.25 and fill 0.56; these 3.8 and 0.25 (median 2,200 voxels: smaller, the
    largest real ones are several lesions grown together). The rim and cores of large lesions
    (``LARGE_RIM_MIN_ALPHA``): about as bright at the edge as inside, like a real plaque, which
    then fades into the NAWM outside its outline (the fringe of ``flair.lesion_halo``).
    """
    v = ctx.voxel_size_mm
    r_main = rng.uniform(7.5, 10.5) / v  # (9-14 in round 9, with rounder, fewer lobes)
    # front or back along Y, tilted up to ~35 degrees: the walk then follows the wall's curve
    forward = 1.0 if rng.random() < PLAQUE_FORWARD_SHARE else -1.0
    heading = np.array([0.0, forward, 0.0]) + rng.normal(0.0, 0.35, 3)
    point = wall.astype(np.float32)
    lobes: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # centre, radii, frame
    for _ in range(int(rng.integers(5, 10))):
        radius = r_main * rng.uniform(0.6, 1.0)
        radii = radius * np.array(
            [rng.uniform(1.1, 1.6), rng.uniform(0.7, 1.0), rng.uniform(0.35, 0.6)], np.float32
        )
        centre, normal = _onto_wall(ctx, point, 0.6 * radii[2])
        frame = wall_frame(heading, normal, rng)
        heading = frame[:, 0]
        lobes.append((centre, radii, frame))
        point = centre + heading * radii[0] * rng.uniform(1.2, 1.7)
    centres = np.stack([c for c, _, _ in lobes])
    reach = max(float(r.max()) for _, r, _ in lobes) * 1.3 + 14.0 / v  # lumps and fingers
    sl = box_slices(centres, reach, ctx.allowed.shape)
    grid = local_grid(sl)
    shape_mask = np.zeros(grid.shape[:3], bool)
    for centre, radii, frame in lobes:
        shape_mask |= ellipsoid_shape(grid, centre, radii, frame, 0.25, rng)
    shape_mask &= ctx.allowed[sl]
    # where clipping splits the chain, keep the largest piece at its root (the largest piece
    # overall was often the front of a chain walked forward: no longer a posterior plaque)
    root = centres[0] - np.array([s.start for s in sl])
    shape_mask = piece_at(shape_mask, root, r_main)
    # ragged before the fingers are added (cut afterwards, the thin fingers were cut away)
    shape_mask = _ragged(ctx, shape_mask, sl, r_main, True, rng)
    _add_fingers(ctx, shape_mask, sl, grid, int(rng.integers(6, 15)), rng)
    shape_mask = piece_at(shape_mask, root, r_main)
    # Round 8-10 history of the cores: measured per lesion (median / NAWM), real lesions >= 300
    # voxels give 1.39-1.77 (median 1.49). Round 8's bright cores (1.9-2.5) with a soft 6 mm rim
    # matched that median but made a saturated white centre with a dim edge; rounds 9-10 (3 mm
    # rim down to 0.45, cores 1.72-2.45) matched the spread pooled inside large lesions but, as
    # round 11's edge profile showed, still with a brighter centre than the real ones'.
    _paint_large(ctx, canvas, sl, shape_mask, "periventricular", "plaque", rng)
