"""The kinds of procedural MS lesion, and ``place_procedural``, which mixes them.

Real MS lesions are not all round blobs, so each kind has its own painter:

- focal lesions (:func:`_paint_focal`): lumpy, bent ovoids, some with a second lobe; large ones
  are chains of merged lobes with a ragged outline and thin branches. Periventricular ones are
  40 % Dawson's fingers (rooted at the ventricle wall, reaching out along its normal), 30 % flat
  sheets lying on the wall, 30 % blobs (:func:`_focal_pose`);
- confluent lesions (:mod:`mslesion.synth.lesion_confluent`): bands and posterior plaques on
  the ventricle wall, and in some high-load brains a mass cuffing a whole ventricle.

The canvas, the placement context and the zone shares, sizes and contrasts they draw from are in
:mod:`mslesion.synth.lesions`; what large lesions share (fingers, ragged outlines, their rim) in
:mod:`mslesion.synth.lesion_large` (imported here, never the other way round).
"""

from __future__ import annotations

import numpy as np

from mslesion.synth.anatomy import ZONES
from mslesion.synth.config import LESION_COUNTS, SynthConfig
from mslesion.synth.fields import lookup
from mslesion.synth.lesion_confluent import MASS_SHARE, paint_band, paint_mass, paint_plaque
from mslesion.synth.lesion_geometry import (
    crop_slices,
    frame_along,
    largest_piece,
    local_grid,
    random_rotation,
    wall_frame,
)
from mslesion.synth.lesion_large import add_fingers, onto_wall, paint_large, ragged
from mslesion.synth.lesions import (
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


def place_procedural(
    ctx: PlacementContext, canvas: LesionCanvas, config: SynthConfig, rng: np.random.Generator
) -> None:
    """Draw the count for ``config.lesion_load``; paint a confluent mass (some medium and high
    loads), bands and plaques (medium, high), then the focal lesions."""
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
    mass = bool(rng.random() < MASS_SHARE[config.lesion_load])
    if 1 in points:
        peri = points[1]
        dist = lookup(ctx.template.vent_dist, ctx.coords[tuple(peri.T)], order=1)
        if np.any(dist <= PERI_CENTRE_MM):
            points[1] = peri[dist <= PERI_CENTRE_MM]  # focal lesions; bands use all of ``peri``
        # MS plaques cluster at the trigones and occipital horns (as in MSLesSeg P14): most
        # confluent lesions are plaques behind the ventricles' centre (smaller Y = posterior)
        posterior = peri[peri[:, 1] < np.median(peri[:, 1]) - 10.0 / v]
        if mass:
            paint_mass(ctx, canvas, peri, rng)
        for _ in range(n_bands):
            if posterior.size > 0 and rng.random() < POSTERIOR_BAND_SHARE:
                paint_plaque(ctx, canvas, posterior[rng.integers(len(posterior))], rng)
            else:
                paint_band(ctx, canvas, peri[rng.integers(len(peri))], rng)
    for _ in range(n_lesions):
        zone = int(rng.choice(zones, p=shares / shares.sum()))
        centre = points[zone][rng.integers(len(points[zone]))].astype(np.float32)
        _paint_focal(ctx, canvas, zone, centre, draw_volume_mm3(zone, rng), rng)


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
        centre, normal = onto_wall(ctx, centre, 0.7 * long_radius)
        return "ovoid", aspect, frame_along(normal, rng), centre
    if periventricular < 0.7:
        # flat on the wall, long along the ventricle (front-back): many of the real masks'
        # lesions of 300-1000 voxels are such sheets (median elongation 2.9; of those >= 300
        # voxels, 57 % run closer to Y than to X or Z)
        aspect = np.array([rng.uniform(2.2, 4.0), rng.uniform(1.0, 1.6), 0.7])
        heading = np.array([0.0, 1.0, 0.0]) + rng.normal(0.0, 0.35, 3)
        depth = 0.7 * r_eq / np.cbrt(aspect.prod())  # the short radius: abut the wall
        centre, normal = onto_wall(ctx, centre, depth)
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
        shape_mask = ragged(ctx, shape_mask, sl, minor, zone == 1, rng)
        branch_size = (
            (0.6 * radii[0], 1.3 * radii[0]),  # semi-length, voxels
            (max(0.25 * minor, 0.8), max(0.45 * minor, 1.0)),  # radii
        )
        n_branches = int(rng.integers(*FOCAL_BRANCHES)) - (kind == "flat")
        add_fingers(ctx, shape_mask, sl, grid, n_branches, rng, branch_size)
        paint_large(ctx, canvas, sl, largest_piece(shape_mask), ZONES[zone], kind, rng)
        return
    # a 2 mm rim (2.5 mm until round 11)
    alpha = rim_alpha(shape_mask, rim_vox=max(1.0, 2.0 / v))
    paint(canvas, sl, alpha, {"zone": ZONES[zone], "shape": kind, "contrast": draw_contrast(rng)})
