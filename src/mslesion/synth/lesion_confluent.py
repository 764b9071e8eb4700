"""Confluent periventricular lesions: tapered bands, posterior plaques and masses.

Real confluent MS lesions are not blobs: they lie on the ventricle wall, run along it, and send
Dawson's fingers out into the white matter (the medullary veins run radially). Three painters:

- bands (:func:`paint_band`): tapered, lumpy WM along the ventricle wall, with fingers;
- posterior plaques (:func:`paint_plaque`): chains of flat lobes walked along the wall from
  the trigones and occipital horns, spiky with fingers;
- masses (:func:`paint_mass`): a whole ventricle's wall (or both) cuffed in lesion, as in the
  most affected brains, with many long fingers.

They share the wall geometry, fingers, ragged outlines and the large-lesion rim of
:mod:`mslesion.synth.lesion_large`.
"""

from __future__ import annotations

import numpy as np

from mslesion.synth.fields import lookup
from mslesion.synth.lesion_geometry import (
    box_slices,
    coarse_noise,
    crop_slices,
    largest_piece,
    local_grid,
    piece_at,
    wall_frame,
)
from mslesion.synth.lesion_large import (
    add_fingers,
    onto_wall,
    paint_large,
    ragged,
    ventricle_normal,
)
from mslesion.synth.lesions import LesionCanvas, PlacementContext, ellipsoid_shape

#: Semi-axes (mm) of a confluent band's ellipse on the ventricle wall, along the ventricle and
#: across it (round 10: longer and narrower than the 13-28 mm discs before, which wrapped round
#: the ventricle as evenly thick crescents).
BAND_ALONG_MM, BAND_ACROSS_MM = (24.0, 42.0), (6.0, 11.0)
#: Share of plaques walked forward from the trigone along the body of the ventricle (the rest
#: go back along the occipital horn, which is short: their lobes pile up at its tip).
PLAQUE_FORWARD_SHARE = 0.7
#: Share of cases per lesion load whose most affected ventricle wall (or both) is cuffed by one
#: confluent mass (:func:`paint_mass`). Of the 34 real masks here, the 23 with >= 8,000 lesion
#: voxels have a largest lesion of 2,500-47,000 voxels (median ~7,500), 8 of them >= 15,000;
#: the largest are masses along one or both ventricles (open_ms_data patients 6, 12, 19, 21:
#: 24,700-46,900).
#: Until round 12 the largest synthetic lesion was 2,900-9,200 voxels (12 cases); with masses
#: 1,600-27,000 (16 cases, median ~7,500); round 13's longer fingers and thicker horns,
#: 1,500-43,000 (median ~6,900).
MASS_SHARE = {"low": 0.0, "medium": 0.15, "high": 0.4}
#: A mass: its lumpy thickness on the wall (mm, before the ragged cut), the share of masses on
#: both ventricles (the rest on one), the share of the ventricle's length it covers, its number
#: of Dawson's fingers and their semi-length and radii (mm): longer than a band's, as the real
#: masses reach far into the corona radiata (4-12 mm until round 13, when alone they measured
#: fill 0.10-0.33 against the real masses' 0.05-0.26).
#: Round 16: thicker (was 2.5-5 mm) with fewer, shorter, thicker fingers (were 20-44 of 6-18 x
#: 1-2.5 mm). The thin cuff and its needles fanned out of the wall as a starburst of bright
#: spikes, and the benchmark's thin share of lesions >= 5,000 voxels read 0.51 against the real
#: masks' 0.37 (the real masses are thick, with stubby fingers); 0.41 with this, the lining,
#: the horns and ``lesion_large.RAGGED_CELL`` (the round's benchmark, 8 cases).
MASS_THICK_MM, MASS_BOTH_SIDES, MASS_COVER = (4.0, 7.0), 0.6, (0.6, 1.0)
MASS_FINGERS, MASS_FINGER_LENGTH_MM, MASS_FINGER_RADIUS_MM = (12, 25), (5.0, 14.0), (1.8, 3.2)
#: How patchy a mass is along the wall: its thickness is x clip(a + b x a smooth ~15 mm field,
#: 0.4, 1.6), (a, b) = this.
MASS_PATCHES = (0.6, 0.8)
#: Thickness gain of a mass (a, b): a + b x (0 on the ventricle's body, 1 at its horns, a ramp
#: from 10 to 25 mm in front of or behind its centre), as real confluent lesions are thickest
#: at the frontal and occipital horns and the trigones.
MASS_HORNS = (0.5, 1.0)
#: A mass lines the wall at least this thick (mm) all along its run, so its patches stay joined;
#: a one-sided mass reaches at most this far (mm) across the midline.
MASS_LINING_MM, MASS_MIDLINE_MM = 2.0, 3.0


def band_body(
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
    frame = wall_frame(heading, ventricle_normal(ctx, centre), rng)
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
    return sl, grid, ragged(ctx, body, sl, thick_mm / v, True, rng), taper  # (as plaques)


def paint_band(
    ctx: PlacementContext, canvas: LesionCanvas, centre: np.ndarray, rng: np.random.Generator
) -> None:
    """A confluent periventricular lesion: a tapered band on the ventricle wall
    (:func:`band_body`), longest along the ventricle, with 3-8 Dawson's fingers reaching out.

    A band of one thickness cut off by a sphere read as an evenly bright crescent wrapped round
    the atrium; real confluent lesions are lumpy, taper and send Dawson's fingers into the WM.
    Until round 10 a disc of radius 13-28 mm with 1-4 short fingers: painted one at a time on a
    deformed template (20 draws, a one-off script) the bands measured elongation 2.45, fill
    0.33; now 3.6 and 0.32, with the real masks' lesions of 1,000-5,000 voxels at 3.7 and 0.24.
    """
    sl, grid, shape_mask, _taper = band_body(ctx, centre, rng)
    add_fingers(ctx, shape_mask, sl, grid, int(rng.integers(3, 9)), rng)
    shape_mask = largest_piece(shape_mask)  # keep the band in one piece
    # (a 2 mm rim down to 0.6 with cores of 1.8-2.25 until round 11)
    paint_large(ctx, canvas, sl, shape_mask, "periventricular", "confluent", rng)


def paint_plaque(
    ctx: PlacementContext, canvas: LesionCanvas, wall: np.ndarray, rng: np.random.Generator
) -> None:
    """A large confluent periventricular plaque starting at a posterior ``wall`` point (the
    trigone / occipital horn, as in MSLesSeg P14) and running along the ventricle.

    A chain of 5-9 lumpy lobes (main radius 7.5-10.5 mm), flattened against the wall and
    abutting it, walked along the wall (mostly forward: ``PLAQUE_FORWARD_SHARE``), clipped to
    allowed WM, given a ragged outline in the WM (:func:`ragged`), then 6-14 Dawson's fingers
    (:func:`add_fingers`): an elongated, spiky mass, kept in one piece. Real lesions of
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
        centre, normal = onto_wall(ctx, point, 0.6 * radii[2])
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
    shape_mask = ragged(ctx, shape_mask, sl, r_main, True, rng)
    add_fingers(ctx, shape_mask, sl, grid, int(rng.integers(6, 15)), rng)
    shape_mask = piece_at(shape_mask, root, r_main)
    # Round 8-10 history of the cores: measured per lesion (median / NAWM), real lesions >= 300
    # voxels give 1.39-1.77 (median 1.49). Round 8's bright cores (1.9-2.5) with a soft 6 mm rim
    # matched that median but made a saturated white centre with a dim edge; rounds 9-10 (3 mm
    # rim down to 0.45, cores 1.72-2.45) matched the spread pooled inside large lesions but, as
    # round 11's edge profile showed, still with a brighter centre than the real ones'.
    paint_large(ctx, canvas, sl, shape_mask, "periventricular", "plaque", rng)


def paint_mass(
    ctx: PlacementContext, canvas: LesionCanvas, peri: np.ndarray, rng: np.random.Generator
) -> None:
    """A confluent mass cuffing one lateral ventricle, or both (``MASS_BOTH_SIDES``), over most
    of its length (``MASS_COVER``, from somewhere between the occipital horn and the frontal
    horn): WM within a lumpy 4-7 mm of the wall (``MASS_THICK_MM``), a ragged outline
    (keeping its footing on the wall), thicker at the horns (``MASS_HORNS``), 12-24
    Dawson's fingers, kept in one piece.
    ``peri``: (K, 3) output voxels of the periventricular zone (where the ventricles are).

    The most affected real brains carry such masses (the real masks' largest lesions, of
    24,700-46,900 voxels: one or both ventricles' walls with spikes up into the corona radiata,
    fill 0.05-0.10 on both sides, 0.09-0.26 on one); a plaque or band reaches that only where
    several merge. Where the cuff runs along
    and across is decided in template space (its Y in mm, its side of the midline), so the mass
    follows the deformed ventricles. Its thickness is patchy along the wall
    (``MASS_PATCHES``) over a 2 mm lining (``MASS_LINING_MM``). Painted alone on the
    undeformed template (8 draws, one-off scripts): round 16, 6,900-25,600 voxels (median
    ~13,000), fill 0.08-0.20, 0.4-1.0 s each (round 15's thinner cuffs: 3,700-13,700, median
    ~8,000; round 13: 6,200-20,100, fill 0.06-0.27; round 12, with shorter fingers and no
    horns: 3,400-15,800, 0.10-0.33); merged with the plaques and lesions round it, it makes a
    case's largest lesion: of round 13's 16 medium and high cases, 1,500-43,000 voxels, median
    ~6,900, as in the real masks (9,200 at most before masses; 55,000, evenly thick;
    1,600-27,000 in round 12).
    """
    v = ctx.voxel_size_mm
    tpl = ctx.template
    at = ctx.coords[tuple(peri.T)]  # template voxels
    midline = float(-tpl.affine[0, 3] / tpl.affine[0, 0])  # template x index of x = 0 mm
    side = 0.0 if rng.random() < MASS_BOTH_SIDES else float(rng.choice([-1.0, 1.0]))
    if side:
        on_side = np.sign(at[:, 0] - midline) == side
        peri, at = peri[on_side], at[on_side]
    if len(peri) < 10:
        return
    # the run along the ventricle, in template mm (2nd-98th percentile: back to front)
    back, front = np.percentile(at[:, 1], (2, 98)) * v
    centre_mm = float(np.median(at[:, 1])) * v
    cover = rng.uniform(*MASS_COVER)
    start = back + rng.uniform(0.0, 1.0 - cover) * (front - back)
    end = start + cover * (front - back)
    thick_mm = rng.uniform(*MASS_THICK_MM)
    near = (at[:, 1] * v >= start - 5.0) & (at[:, 1] * v <= end + 5.0)
    reach = (2.2 * thick_mm + MASS_FINGER_LENGTH_MM[1] * 1.8) / v  # lumps and fingers
    sl = box_slices(peri[near], reach, ctx.allowed.shape)
    where = ctx.coords[sl]
    vent = lookup(tpl.vent_dist, where, order=1) / v  # mm -> voxels
    # lumps every ~10 mm (thickness) and ~30 mm (thickness and where the run ends)
    fine = coarse_noise(vent.shape, tuple(max(3, int(s * v / 10)) for s in vent.shape), rng)
    broad = coarse_noise(vent.shape, tuple(max(2, int(s * v / 30)) for s in vent.shape), rng)
    y_mm = where[..., 1] * v
    # 1 inside the run, fading over ~8 mm at its ends, which the broad lumps shift by ~+-6 mm
    inside_mm = np.minimum(y_mm - start, end - y_mm) + 6.0 * broad
    run = np.clip(inside_mm / 8.0 + 0.5, 0.0, 1.0)
    if side:
        run *= np.sign(where[..., 0] - midline) == side
    # patchy along the wall (~15 mm patches, 0.4-1.6 x as thick; drawn evenly thick the cuff
    # read as a bright ring traced round the whole ventricle), never thinner than the lining
    # (where the lumps left the wall bare it broke into pieces, of which only the largest was
    # kept: in round 15 one of 6 test draws was a 3,700-voxel mass 30 mm long)
    patch = coarse_noise(vent.shape, tuple(max(3, int(s * v / 15)) for s in vent.shape), rng)
    patch = np.clip(MASS_PATCHES[0] + MASS_PATCHES[1] * patch, 0.4, 1.6)
    horn = np.clip((np.abs(y_mm - centre_mm) - 10.0) / 15.0, 0.0, 1.0)
    patch *= MASS_HORNS[0] + MASS_HORNS[1] * horn
    thickness = (thick_mm * (1.0 + 0.45 * fine) + 2.0 * broad) * run * patch / v
    thickness = np.maximum(thickness, MASS_LINING_MM * (run > 0.5) / v)
    body = (vent > 0) & (vent <= thickness) & ctx.allowed[sl]
    body = ragged(ctx, body, sl, thick_mm / v, True, rng)
    finger_size = (
        tuple(x / v for x in MASS_FINGER_LENGTH_MM),
        tuple(x / v for x in MASS_FINGER_RADIUS_MM),
    )
    grid = local_grid(sl)
    add_fingers(ctx, body, sl, grid, int(rng.integers(*MASS_FINGERS)), rng, finger_size)
    if side:  # (the thicker fingers of round 16 reached across the corpus callosum)
        across_mm = side * (where[..., 0] - midline) * abs(float(tpl.affine[0, 0]))
        body &= across_mm > -MASS_MIDLINE_MM
    paint_large(ctx, canvas, sl, largest_piece(body), "periventricular", "mass", rng)
