"""Where procedural MS lesions go, and the canvas every lesion is painted into.

Lesions are drawn in output-voxel space, in small crops, and merged into two full volumes:
``alpha`` (0 outside lesions, 0.6..1 inside: a soft rim that still keeps every mask voxel
brighter than white matter) and ``contrast`` (the lesion/WM intensity ratio of the lesion that
owns the voxel). The truth mask is exactly ``alpha > 0``.

This module holds the canvas (:class:`LesionCanvas`, :func:`paint`, :func:`rim_alpha`,
:func:`ellipsoid_shape`) and what placement needs (:class:`PlacementContext`, the allowed
region, candidate points per zone, zone shares, sizes and contrasts); both lesion sources paint
with it: :mod:`mslesion.synth.lesion_kinds` (the procedural kinds and ``place_procedural``)
and :mod:`mslesion.synth.library` (real lesion shapes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from mslesion.infer.crop import brain_box
from mslesion.synth.anatomy import ZONES, Template
from mslesion.synth.fields import SamplingGrid, lookup
from mslesion.synth.lesion_geometry import coarse_noise

#: Share of lesions per zone (periventricular, juxtacortical, infratentorial, deep WM); the
#: order of magnitude of published MS lesion location studies, refined against the real masks.
#: (Infratentorial raised from 0.14 to 0.21 in round 3: clipping to the thin brainstem WM drops
#: many of them, and the atlas-measured share stayed at 0.7 % of lesion voxels vs 1.8 % real.
#: Periventricular raised from 0.36 to 0.40 in round 3 while the template's "ventricles" still
#: included the fissures, whose lesions the atlas does not count; with the lateral ventricles
#: alone (round 5) 0.40 gave 31 % of lesion voxels periventricular vs 23 % real and 55 %
#: juxtacortical vs 62 %, so it went back to 0.36, and juxtacortical 0.19 -> 0.23. Round 8:
#: infratentorial back to 0.14 (+0.05 juxtacortical, +0.02 deep WM): with round 7's wider sizes
#: 10-14 % of the lesions were infratentorial vs 5.5-6.9 % in the real masks; now 6-7 %.)
ZONE_SHARES: dict[int, float] = {1: 0.36, 2: 0.28, 3: 0.14, 4: 0.22}
#: Focal periventricular lesions are centred within this distance (mm) of the ventricles (the
#: zone reaches 8 mm): real ones abut the wall, and centred further out they missed the atlas'
#: periventricular region the benchmark measures with.
PERI_CENTRE_MM = 5.0
#: Median lesion volume in mm^3 per zone, and the log-normal sigma of the sizes (infratentorial
#: 16 -> 24 in round 8: clipped to the thin brainstem WM they measured 18 voxels vs 25 real).
#: Round 13: juxtacortical 11 -> 8.5, deep 14 -> 10, periventricular 36 -> 45, sigma 1.5 -> 1.6,
#: with ~25 % more lesions drawn (``config.LESION_COUNTS``). 16 cases (medium / high, a one-off
#: script) went from 47 lesions per case, 27 % of them < 10 voxels, 90th percentile 144 voxels,
#: 11,700 voxels in all to 58, 33 %, 155, 13,100 (real masks: 61, 32 %, 181, 15,500).
ZONE_MEDIAN_MM3: dict[int, float] = {1: 45.0, 2: 8.5, 3: 24.0, 4: 10.0}
SIZE_SIGMA = 1.6
#: Largest infratentorial lesion drawn (mm^3): of 216 in the real masks the 99th percentile is
#: 640 voxels, the largest 1,070; round 7 drew up to 6 cm^3 (one case: 32 % of lesion voxels).
INFRA_MAX_MM3 = 600.0
#: Dimmest lesion core / WM ratio any lesion gets (focal lesions draw 1.65-2.0; large ones,
#: ``lesion_large.LARGE_CORES``, 1.65-1.95). Must stay above the brightest NAWM
#: (``flair.NAWM_RANGE``: WM <= 1.3) for mask exactness.
MIN_LESION_CONTRAST = 1.6
#: Lesion rim weight: the dimmest mask voxel is still 70 % of the way to the core (60 % until
#: round 11, with brighter cores: real lesions are flatter inside, see ``draw_contrast``).
RIM_MIN_ALPHA = 0.7


@dataclass
class LesionCanvas:
    """Full-volume accumulators (X, Y, Z) that lesions are painted into."""

    alpha: np.ndarray  # float32, 0 outside lesions
    contrast: np.ndarray  # float32 lesion/WM ratio
    owner: np.ndarray  # int32 index into ``placed`` (-1: none)
    placed: list[dict[str, object]] = field(default_factory=list)

    @classmethod
    def empty(cls, shape: tuple[int, int, int]) -> LesionCanvas:
        return cls(
            np.zeros(shape, np.float32), np.ones(shape, np.float32), np.full(shape, -1, np.int32)
        )


def allowed_region(gm: np.ndarray, wm: np.ndarray, csf: np.ndarray) -> np.ndarray:
    """Bool (X, Y, Z): voxels a lesion may occupy (white-matter dominated, never CSF or outside)."""
    return (csf < 0.15) & (wm > 0.3) & ((wm + gm) > 0.6)


def ellipsoid_shape(
    grid: np.ndarray,
    centre: np.ndarray,
    radii: np.ndarray,
    frame: np.ndarray,
    irregularity: float,
    rng: np.random.Generator,
    bend: float = 0.0,
) -> np.ndarray:
    """Bool crop: a (possibly lumpy, possibly bent) ellipsoid. ``radii`` in voxels along
    ``frame``'s columns; ``bend`` curves the long (first) axis into a parabola that leaves the
    axis by ``bend`` x the first radius at its tips (real lesions follow curved veins and
    cortex: a bend of 0.5 turns an ovoid into a banana). Only the ellipsoid's own box of the
    crop is evaluated (lobes of a large lesion each cover a fraction of its crop). ``grid``:
    the crop's voxel indices (X, Y, Z, 3), a meshgrid (:func:`lesion_geometry.local_grid`)."""
    out = np.zeros(grid.shape[:3], bool)
    # the lumps push the surface out by up to ~irregularity x 4 (standard-normal lattice
    # values), the bend shifts the tips by bend x the long radius
    grow = 1.0 + 5.0 * irregularity
    reach = grow * float(radii.max()) + abs(bend) * float(radii[0]) * grow**2 + 1.0
    origin = grid[0, 0, 0]
    lo = np.clip(np.floor(centre - reach - origin), 0, grid.shape[:3]).astype(int)
    hi = np.clip(np.ceil(centre + reach - origin) + 1, 0, grid.shape[:3]).astype(int)
    if np.any(hi <= lo):
        return out
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    # broadcast from the grid's axes (a matmul over (..., 3) arrays took 3/4 of the time)
    sub = grid[box]
    axes = [sub[:, 0, 0, 0, None, None], sub[0, :, 0, 1, None], sub[0, 0, :, 2]]
    scaled = (frame / radii).astype(np.float32)  # column k: frame axis k / its radius
    offsets = [ax - np.float32(c) for ax, c in zip(axes, centre, strict=True)]
    local = [sum(offsets[i] * scaled[i, k] for i in range(3)) for k in range(3)]
    if bend:
        local[1] = local[1] - np.float32(bend * radii[0] / radii[1]) * local[0] ** 2
    dist = np.sqrt(local[0] ** 2 + local[1] ** 2 + local[2] ** 2)
    if irregularity > 0 and min(radii) >= 1.5:
        # lumpy surface: perturb the normalised radius with coarse noise
        dist = dist + irregularity * coarse_noise(dist.shape, 4, rng)
    out[box] = dist <= 1.0
    return out


def rim_alpha(
    shape_mask: np.ndarray, rim_vox: float, min_alpha: float = RIM_MIN_ALPHA
) -> np.ndarray:
    """Blend weight per voxel: ``min_alpha`` at the edge, rising smoothly to 1 at ``rim_vox``
    voxels deep (smoothstep, so wide rims fade without a visible step), 0 outside the shape."""
    # the distance transform on the shape's own box (+1 voxel of background) only: same depths,
    # a fraction of the cost in a crop sized for bends and second lobes
    box = brain_box(shape_mask, 1)
    depth = np.zeros(shape_mask.shape, np.float64)
    depth[box] = ndimage.distance_transform_edt(shape_mask[box])
    t = np.clip((depth - 1) / max(rim_vox, 1e-3), 0, 1)
    ramp = t * t * (3 - 2 * t)
    return np.where(shape_mask, min_alpha + (1 - min_alpha) * ramp, 0).astype(np.float32)


def paint(
    canvas: LesionCanvas, sl: tuple[slice, ...], alpha: np.ndarray, record: dict[str, object]
) -> None:
    """Merge one lesion's alpha crop into the canvas (the brighter weight owns a shared voxel)."""
    if not np.any(alpha > 0):
        return
    index = len(canvas.placed)
    canvas.placed.append(record)
    region = canvas.alpha[sl]
    wins = alpha > region
    region[wins] = alpha[wins]
    canvas.contrast[sl][wins] = float(record["contrast"])  # type: ignore[arg-type]
    canvas.owner[sl][wins] = index


@dataclass(frozen=True)
class PlacementContext:
    """What lesion placement needs about one deformed anatomy (all arrays (X, Y, Z))."""

    allowed: np.ndarray  # bool, where lesions may be
    coords: SamplingGrid  # template voxel (..., 3) sampled by each output voxel
    template: Template
    voxel_size_mm: float


def candidate_points(
    ctx: PlacementContext, rng: np.random.Generator, n: int = 40000
) -> dict[int, np.ndarray]:
    """Random allowed voxels grouped by zone: {zone: (K, 3) int voxel indices}."""
    flat = np.flatnonzero(ctx.allowed)
    if flat.size == 0:
        return {}
    pick = np.sort(rng.choice(flat, size=min(n, flat.size), replace=False))
    pts = np.stack(np.unravel_index(pick, ctx.allowed.shape), -1)
    zones = lookup(ctx.template.zones, ctx.coords[tuple(pts.T)], order=0)
    return {z: pts[zones == z] for z in ZONES if np.any(zones == z)}


def draw_volume_mm3(zone: int, rng: np.random.Generator) -> float:
    """Volume (mm^3, before clipping to tissue) of a focal lesion in ``zone``: log-normal,
    3 mm^3 to 6 cm^3, infratentorial ones at most ``INFRA_MAX_MM3``."""
    top = INFRA_MAX_MM3 if zone == 3 else 6000.0
    return float(np.clip(rng.lognormal(np.log(ZONE_MEDIAN_MM3[zone]), SIZE_SIGMA), 3.0, top))


def draw_contrast(rng: np.random.Generator) -> float:
    """Lesion core / NAWM intensity ratio (before rim, blur and noise).

    Real scans here measure 1.33-1.74 as the median over the mask; rims, partial volume and the
    acquisition blur bring these cores down to about 1.3-1.6 measured the same way (per-lesion
    medians by size within ~0.05 of the real ones, ``benchmarks/synth_realism.py``). Round 9
    raised them by 0.1-0.25 (from 1.65-2.05) when its softer acquisition blur dimmed lesions of
    < 30 voxels from 1.24 to 1.18 (real 1.25). Round 11 lowered them from 1.75-2.3 again, with
    a flatter rim and the bright fringe outside the mask (``flair.lesion_halo``) that lifts the
    tissue a lesion's edge is blended from: lesions of 30-300 voxels read 1.42 vs 1.34 real
    before, 1.39 after (8 cases).
    """
    return float(rng.uniform(MIN_LESION_CONTRAST + 0.05, 2.0))
