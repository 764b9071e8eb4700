"""Cortical folding the MNI152 average lost: extra sulci with their cortex, cerebellar folia.

Averaging 152 brains keeps only the large, consistent sulci; an individual brain has roughly
twice as many (small sulci at the vertex, on the medial surface, side branches), each lined by
a ~2.5 mm cortical ribbon that dips into the white matter, and a cerebellum striped by thin
fissures between its folia. Both are drawn once into the 1 mm template (fixed seed, cached with
it); each sample then opens a random, regionally varying share of every sulcal line into CSF
(``flair.open_sulci``) and deforms the whole anatomy, so cases still differ.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: Fixed seed of the template's procedural folding (part of the cached template content).
FOLDING_SEED = 20240603
#: Gaussian smoothing (mm) of the white noise whose zero set, extruded inward from the brain
#: surface, gives the new sulci: zero crossings are ~pi*sqrt(2)*sigma = 13 mm apart along the
#: surface, which with the template's own sulci gives gyri about as dense as in the real scans.
SULCUS_FIELD_SIGMA_MM = 3.0
#: Cortical thickness (mm) lining each new sulcus (converted from WM to GM).
CORTEX_MM = 2.5
#: Std of the random lean of a new sulcus per mm of depth (0.3: ~17 degrees, so a 12 mm deep
#: sulcus curves ~3.5 mm sideways); a straight extrusion along the normal looked like spokes.
SULCUS_BEND = 0.3


def _unit_field(shape: tuple[int, ...], sigma_vox: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth Gaussian random field, float32, zero mean and unit std."""
    g = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sigma_vox)
    g -= g.mean()
    return g / max(float(g.std()), 1e-6)


def extra_sulci(
    gm: np.ndarray,
    wm: np.ndarray,
    csf: np.ndarray,
    sulci: np.ndarray,
    hull: np.ndarray,
    hull_depth: np.ndarray,
    vent_dist: np.ndarray,
    cerebellum: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """New sulci on the 1 mm template: returns (gm, wm, sulci), float32 (X, Y, Z).

    Each new sulcus is a sheet that starts perpendicular to the brain surface and leans by a
    smooth random angle (``SULCUS_BEND``) as it goes in: the zero set of a random field read at
    each voxel's (leaned) projection onto the "outer" surface (outside the hull, or the
    interhemispheric fissure / an existing sulcus, so the medial surface and side branches get
    sulci too), reaching a random 5-16 mm below that surface. Around the sheet, WM within
    ``CORTEX_MM`` becomes GM (the cortical ribbon; WM further away stays as the gyrus' core),
    and a ~1.2 mm line at its middle is added to ``sulci``. Only in the cerebral cortex:
    < 20 mm below the hull, away from the ventricles (deep grey nuclei) and the cerebellum.
    GM + WM is conserved.
    """
    outer = ~hull | ((csf > 0.5) & (vent_dist > 4.0))
    depth = ndimage.distance_transform_edt(~outer).astype(np.float32)
    region = np.clip((20.0 - hull_depth) / 3.0, 0.0, 1.0) * np.clip((vent_dist - 6.0) / 4.0, 0, 1)
    region *= ~ndimage.binary_dilation(cerebellum, iterations=3) & (depth > 0)
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
    bend = np.stack([_unit_field(gm.shape, 8.0, rng)[band] for _ in range(3)])
    surface_pts += bend * np.float32(SULCUS_BEND) * depth[band]
    g = _unit_field(gm.shape, SULCUS_FIELD_SIGMA_MM, rng)
    # along the surface a smoothed-noise field changes by ~1/sigma per mm (2 of 3 gradient axes)
    grad_rms = float(np.sqrt(np.mean(sum(d * d for d in np.gradient(g))) * 2.0 / 3.0))
    sheet_mm = np.full(gm.shape, 99.0, np.float32)
    sheet_mm[band] = np.abs(ndimage.map_coordinates(g, surface_pts, order=1)) / grad_rms
    floor = np.zeros(gm.shape, np.float32)  # depth reached by the sulcus: 5-16 mm
    depth_field = ndimage.map_coordinates(_unit_field(gm.shape, 6.0, rng), surface_pts, order=1)
    floor[band] = 5.0 + 11.0 / (1.0 + np.exp(-1.5 * depth_field))
    # cortical ribbon: within CORTEX_MM of the sheet, and of its floor (the fundus is GM too)
    ribbon = np.clip(CORTEX_MM + 0.8 - sheet_mm, 0.0, 1.0)
    ribbon *= np.clip(floor + CORTEX_MM - depth, 0.0, 1.0) * region
    to_gm = wm * ribbon
    line = np.clip((0.9 - sheet_mm) / 0.6, 0.0, 1.0) * np.clip((floor - depth) / 2.0, 0.0, 1.0)
    line *= region * (gm + to_gm > 0.3)
    return (
        (gm + to_gm).astype(np.float32),
        (wm - to_gm).astype(np.float32),
        np.maximum(sulci, line).astype(np.float32),
    )


def cerebellum_region(shape: tuple[int, int, int], affine: np.ndarray) -> np.ndarray:
    """Bool (X, Y, Z): an ellipsoid around the cerebellum in MNI mm (centre (0, -62, -35),
    radii 50, 30, 24 mm); combined with the infratentorial plane it excludes the temporal and
    occipital lobes. Hand-written because no offline atlas ships a cerebellum mask."""
    ii, jj, kk = np.meshgrid(*[np.arange(s, dtype=np.float32) for s in shape], indexing="ij")
    x = affine[0, 0] * ii + affine[0, 3]
    y = affine[1, 1] * jj + affine[1, 3]
    z = affine[2, 2] * kk + affine[2, 3]
    return (x / 50.0) ** 2 + ((y + 62.0) / 30.0) ** 2 + ((z + 35.0) / 24.0) ** 2 <= 1.0


def cerebellar_folia(
    gm: np.ndarray,
    sulci: np.ndarray,
    cerebellum: np.ndarray,
    affine: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sulcal lines between the cerebellar folia, added to ``sulci`` (float32, (X, Y, Z)).

    The fissures are transverse sheets: in a sagittal slice they radiate towards the surface
    from a point above the fourth ventricle (MNI y = -42, z = -22; higher than its roof so the
    lateral hemispheres are not too close to the centre), like the arbor vitae; in an axial
    slice they are curved left-right stripes. Level sets of the sagittal angle around that point,
    ~3.5 mm apart at 30 mm radius, bent by a random 8 mm field, within 9 mm of the cerebellar
    surface and in cerebellar GM. Weight 0.5-1 (x the sample's opening share).
    """
    shape = gm.shape
    jj, kk = np.meshgrid(
        np.arange(shape[1], dtype=np.float32), np.arange(shape[2], dtype=np.float32), indexing="ij"
    )
    y = affine[1, 1] * jj + affine[1, 3] + 42.0
    z = affine[2, 2] * kk + affine[2, 3] + 22.0
    radius = np.sqrt(y * y + z * z) + 1e-3
    spacing_mm, r0 = 3.5, 30.0
    phase = (np.arctan2(z, y) * r0 / spacing_mm)[None] + 1.5 * _unit_field(shape, 8.0, rng)
    off_mm = np.abs(phase - np.rint(phase)) * (spacing_mm * radius / r0)[None]
    inner = ndimage.binary_erosion(cerebellum & (gm > 0.2), iterations=1)
    surf_depth = ndimage.distance_transform_edt(inner)
    # fissures differ in depth and width: weight 0.5-1 varying over ~10 mm
    weight = np.clip(0.75 + 0.25 * _unit_field(shape, 10.0, rng), 0.5, 1.0)
    line = np.clip((0.9 - off_mm) / 0.5, 0.0, 1.0) * weight
    line *= np.clip((9.0 - surf_depth) / 3.0, 0.0, 1.0) * (surf_depth > 0) * (gm > 0.3)
    # near the centre the angular level sets crowd together (< 2.5 mm apart): no fissures there
    line *= np.clip((radius - 18.0) / 4.0, 0.0, 1.0)[None]
    return np.maximum(sulci, line).astype(np.float32)
