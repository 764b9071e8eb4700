"""The cerebellum's folia: fissures between them and the WM laminae in their cores.

The MNI152 average keeps the cerebellum as a smooth GM mass; a real one is striped by thin
fissures, with a WM branch (the arbor vitae) inside each folium. Drawn once into the 1 mm
template (fixed seed, cached with it), like the cerebral folding of
:mod:`mslesion.synth.folding`."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from mslesion.synth.folding import unit_field
from mslesion.synth.normal import mm_grid


def cerebellum_region(shape: tuple[int, int, int], affine: np.ndarray) -> np.ndarray:
    """Bool (X, Y, Z): an ellipsoid around the cerebellum in MNI mm (centre (0, -62, -35),
    radii 50, 30, 24 mm); combined with the infratentorial plane it excludes the temporal and
    occipital lobes. Hand-written because no offline atlas ships a cerebellum mask."""
    x, y, z = mm_grid(shape, affine)
    return (x / 50.0) ** 2 + ((y + 62.0) / 30.0) ** 2 + ((z + 35.0) / 24.0) ** 2 <= 1.0


def cerebellar_folia(
    gm: np.ndarray,
    wm: np.ndarray,
    sulci: np.ndarray,
    cerebellum: np.ndarray,
    affine: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cerebellum's folia: fissures added to ``sulci`` and WM laminae moved from ``gm`` to
    ``wm`` (all float32, (X, Y, Z)); returns (gm, wm, sulci).

    The fissures are transverse sheets: in a sagittal slice they radiate towards the surface
    from a point above the fourth ventricle (MNI y = -42, z = -22; higher than its roof so the
    lateral hemispheres are not too close to the centre), like the arbor vitae; in an axial
    slice they are curved left-right stripes. Level sets of the sagittal angle around that point,
    ~3.5 mm apart at 30 mm radius, bent by a random 8 mm field, within 9 mm of the cerebellar
    surface and in cerebellar GM. Weight 0.15-0.45 (x the sample's opening share).

    Between each pair of fissures runs a WM lamina (the folium's core), from the deep WM out to
    2-4 mm below the surface (:func:`_laminae`). Real FLAIR shows the arbor vitae as dark
    branches in bright cortex, thicker every few folia where a lobule's branch runs; with
    fissures alone the synthetic cerebellum was uniformly bright, striped by dark lines.
    """
    shape = gm.shape
    jj, kk = np.meshgrid(
        np.arange(shape[1], dtype=np.float32), np.arange(shape[2], dtype=np.float32), indexing="ij"
    )
    y = affine[1, 1] * jj + affine[1, 3] + 42.0
    z = affine[2, 2] * kk + affine[2, 3] + 22.0
    radius = np.sqrt(y * y + z * z) + 1e-3
    spacing_mm, r0 = 3.5, 30.0
    phase = (np.arctan2(z, y) * r0 / spacing_mm)[None] + 1.5 * unit_field(shape, 8.0, rng)
    mm_per_phase = (spacing_mm * radius / r0)[None]
    off_mm = np.abs(phase - np.rint(phase)) * mm_per_phase
    inner = ndimage.binary_erosion(cerebellum & (gm > 0.2), iterations=1)
    surf_depth = ndimage.distance_transform_edt(inner)
    # fissures differ in depth and width: weight 0.15-0.45 varying over ~10 mm (0.5-1 until
    # round 12: opened into CSF every 3.5 mm they striped the cerebellum with dark lines, where
    # real FLAIR shows bright cortex round dark WM branches and hardly any fissure; the atlas'
    # cerebellar GM read 1.07-1.15 x NAWM in 4 cases, 1.16-1.28 with the laminae and these
    # weights, the MSLesSeg scans 1.21-1.37 (undeformed and noise-free, the same cases read
    # 1.21-1.33: the deformation against the atlas blurs the rest away))
    weight = np.clip(0.3 + 0.1 * unit_field(shape, 10.0, rng), 0.15, 0.45)
    line = np.clip((0.9 - off_mm) / 0.5, 0.0, 1.0) * weight
    line *= np.clip((9.0 - surf_depth) / 3.0, 0.0, 1.0) * (surf_depth > 0) * (gm > 0.3)
    # near the centre the angular level sets crowd together (< 2.5 mm apart): no fissures there
    crowded = np.clip((radius - 18.0) / 4.0, 0.0, 1.0)[None]
    line *= crowded
    # the laminae run out from the WM to near the cerebellum's outer surface (the fissures'
    # depth above also counts from the WM, which the template's cerebellar GM encloses)
    outer_depth = ndimage.distance_transform_edt(cerebellum & ((gm + wm) > 0.5))
    core = _laminae(phase, mm_per_phase, outer_depth, rng) * crowded * (gm > 0.2)
    moved = np.minimum(core, gm) * (1.0 - line)
    return (
        (gm - moved).astype(np.float32),
        (wm + moved).astype(np.float32),
        np.maximum(sulci, line).astype(np.float32),
    )


#: Cerebellar WM laminae (:func:`_laminae`): half-width (mm) of a folium's core and of a
#: lobule's branch (every 2nd or 3rd lamina), and how far below the surface they stop (mm).
LAMINA_HALF_MM, BRANCH_HALF_MM, LAMINA_TIP_MM = (0.3, 0.5), (1.2, 1.8), (2.0, 4.0)


def _laminae(
    phase: np.ndarray, mm_per_phase: np.ndarray, surf_depth: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """WM share (float32, [0, 1]) of the folia's cores: a sheet midway between neighbouring
    fissures (``phase`` half-way between integers), ``LAMINA_HALF_MM`` thick either side, or
    ``BRANCH_HALF_MM`` for every 2nd or 3rd (a lobule's branch), stopping 2-4 mm (drawn per
    lamina) below the outer surface (``surf_depth``, mm), with a 1 mm ramp at the tip."""
    index = np.floor(phase).astype(np.int64)
    lo = int(index.min())
    n = int(index.max()) - lo + 1
    half = rng.uniform(*LAMINA_HALF_MM, n)
    branch = np.zeros(n, bool)
    at = int(rng.integers(0, 2))
    while at < n:
        branch[at] = True
        at += int(rng.integers(2, 4))
    half[branch] = rng.uniform(*BRANCH_HALF_MM, int(branch.sum()))
    tip = rng.uniform(*LAMINA_TIP_MM, n)
    k = index - lo
    off_mm = np.abs(phase - index - 0.5) * mm_per_phase
    across = np.clip((half[k] - off_mm) / 0.5 + 0.5, 0.0, 1.0)
    return (across * np.clip(surf_depth - tip[k], 0.0, 1.0)).astype(np.float32)
