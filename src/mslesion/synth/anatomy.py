"""Anatomy for synthesis: the MNI152 template maps on the project grid, and random deformations.

The built-in anatomy comes from the MNI152 2009a (symmetric) T1, grey- and white-matter maps
that the ``nilearn`` wheel ships in its own package data, so it works offline and without the
shared data folder. CSF is derived as "inside the brain hull but neither GM nor WM".
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from mslesion.preprocess.templates import MNI_AFFINE as MNI_AFFINE_1MM
from mslesion.preprocess.templates import MNI_SHAPE as MNI_SHAPE_1MM
from mslesion.preprocess.templates import default_cache_dir, prune_old_versions, template_on_grid
from mslesion.synth.folding import (
    FOLDING_SEED,
    cortical_band,
    deep_sulci,
    extra_sulci,
    fissure_weight_yz,
    medial_cortex,
    narrow_fissure,
    non_cortical_grey,
    sulcal_core,
    thin_cortex,
)
from mslesion.synth.folia import cerebellar_folia, cerebellum_region
from mslesion.synth.normal import (
    add_septum,
    bright_anatomy,
    fill_cisterns,
    mm_grid,
    polyline_tube,
)

# The project's 1 mm MNI grid (182x218x182, LAS) and the nilearn template maps are defined
# once in :mod:`mslesion.preprocess.templates`; the ``*_1MM`` names are kept for synth code.
__all__ = [
    "MNI_AFFINE_1MM",
    "MNI_SHAPE_1MM",
    "ZONES",
    "Template",
    "default_cache_dir",
    "mni_grid",
    "mni_template",
]

# Zone labels of :attr:`Template.zones` (where MS lesions occur; McDonald-style regions).
ZONES: dict[int, str] = {
    1: "periventricular",
    2: "juxtacortical",
    3: "infratentorial",
    4: "deep_wm",
}


def mni_grid(voxel_size_mm: float = 1.0) -> tuple[tuple[int, int, int], np.ndarray]:
    """Shape and affine of the MNI field of view at an isotropic voxel size.

    1.0 gives exactly the 182x218x182 FSL grid; other sizes keep the field of view and centre
    (e.g. 3.0 mm -> 61x73x61). Unlike :func:`mslesion.preprocess.templates.model_grid`, which
    keeps the 1 mm box's corner, this keeps its centre; synthesis data and caches rely on that.
    """
    v = float(voxel_size_mm)
    if v == 1.0:
        return MNI_SHAPE_1MM, MNI_AFFINE_1MM.copy()
    shape = tuple(max(2, int(round(s / v))) for s in MNI_SHAPE_1MM)
    centre_world = MNI_AFFINE_1MM @ np.append((np.array(MNI_SHAPE_1MM) - 1) / 2.0, 1.0)
    affine = MNI_AFFINE_1MM.copy()
    affine[:3, :3] *= v
    affine[:3, 3] = centre_world[:3] - affine[:3, :3] @ ((np.array(shape) - 1) / 2.0)
    return shape, affine  # type: ignore[return-value]


@dataclass(frozen=True)
class Template:
    """Tissue maps on one grid; all arrays (X, Y, Z).

    Attributes:
        gm, wm, csf: float32 tissue probabilities in [0, 1] (sum <= 1; 0 outside the brain).
        caps: float32 [0, 1] periventricular-cap weight (thin rims at the ventricular horns).
        sulci: float32 [0, 1] share of ``gm`` that is really sulcal CSF blurred in by template
            averaging: a ~1.5 mm line along the mid-surface of the GM between two white-matter
            banks (the medial ridge of the distance to WM); samples move a random, regionally
            varying fraction of it to CSF to open the sulci.
        sulci_core: float32 [0, 1], 1 on the middle of a sulcal line, falling to ~0 at its
            edges (:func:`mslesion.synth.folding.sulcal_core`): on grids of 1 mm or finer the
            line opens from its middle (coarser grids resample it but open by the share).
        nawm: float32 regional white-matter brightness pattern (unitless, about [-1, 1]):
            +1 along the corticospinal tracts, +0.6 in the lateral posterior periventricular WM;
            samples scale it by a few percent (``flair.nawm_modulation``, which also darkens
            the frontal WM by a per-case share, :func:`frontal_wm_ramp`).
        bright: float32 [0, 1] weight of normal FLAIR-bright anatomy that is not lesion
            (brainstem tegmentum, cerebral peduncles, septum pellucidum / fornix, insular
            cortex with the claustrum / external capsule; :mod:`mslesion.synth.normal`).
        vent_dist: float32 distance to the lateral ventricles in mm (capped at 40).
        pial_mm: float32 distance in mm to the nearest pial surface of the cerebral cortex
            (outside the brain, the fissures, a sulcal line with ``sulci`` > 0.5) within the
            cortical band (the interhemispheric fissure's pia counts ``FALX_PIA_MM`` further),
            20 elsewhere (brainstem, cerebellum, deep grey nuclei): how far in each case's
            cortical atrophy moves the pia (:mod:`mslesion.synth.atrophy`).
        surface_mm: float32 depth in mm below the brain's outer surface (outside the brain and
            the fissures; sulcal lines do not count) within the cortical band, 20 elsewhere:
            how deep in its sulcus a voxel lies (sulci open less towards their fundus,
            :func:`mslesion.synth.atrophy.sulcal_taper`).
        outside_mm: float32 distance in mm outside the template's brain (GM + WM + CSF > 0.5),
            0 inside, capped at ``OUTSIDE_CAP_MM``: where a case's loose skull strip keeps more
            CSF (:func:`mslesion.synth.skullstrip.outer_csf`).
        zones: uint8 lesion-location zones (see :data:`ZONES`, 0 = no lesion allowed).
        affine: 4x4 voxel-to-world matrix; voxel_size_mm: isotropic voxel size.
    """

    gm: np.ndarray
    wm: np.ndarray
    csf: np.ndarray
    caps: np.ndarray
    sulci: np.ndarray
    sulci_core: np.ndarray
    nawm: np.ndarray
    vent_dist: np.ndarray
    zones: np.ndarray
    affine: np.ndarray
    voxel_size_mm: float
    bright: np.ndarray
    pial_mm: np.ndarray
    surface_mm: np.ndarray
    outside_mm: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.gm.shape)  # type: ignore[return-value]


def _nilearn_on_mni_grid(name: str) -> np.ndarray:
    """One nilearn map (``"t1"``, ``"gm"`` or ``"wm"``) as float32 [0, 1] on the 1 mm FSL grid.

    A writable copy of :func:`mslesion.preprocess.templates.template_on_grid` (an exact
    re-indexing of the nilearn grid, no interpolation).
    """
    return np.array(template_on_grid(name, 1.0))


def _infratentorial_region(shape: tuple[int, int, int], affine: np.ndarray) -> np.ndarray:
    """Bool (X, Y, Z): below the tentorium, approximated by a bent plane in MNI mm.

    Fitted by eye to the upper surface of the CSIM infratentorial atlas region (z <= -2 mm from
    y = -55 forward to the pons, sloping down to z = -40 mm at the occipital pole, and z <= -24 mm
    in front of the pons). Hand-written because no library ships this region offline.
    """
    ii, jj, kk = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij", sparse=True)
    y = affine[1, 1] * jj + affine[1, 3]
    z = affine[2, 2] * kk + affine[2, 3]
    top = np.where(y > -10, -24.0, np.where(y > -55, -2.0, -2.0 + 0.93 * (y + 55)))
    return np.broadcast_to(z <= top, shape) & np.ones((shape[0], 1, 1), bool)


def _lateral_ventricles(csf: np.ndarray, hull: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Bool (X, Y, Z): the lateral ventricles of the 1 mm template.

    Deep CSF pools (CSF > 0.5, > 12 mm inside the hull, >= 300 voxels) that the CSF does not
    connect to the outside of the brain. Without that test the deep parts of the
    interhemispheric and sylvian fissures (the hull closes over them) counted as ventricles:
    periventricular lesions, caps and dirty WM then lined the fissures, and with the cisterns
    they moved the ventricles' centre 9 mm back and 7 mm down. The third and fourth ventricles
    reach the cisterns at 1 mm and are left out with them; only GM (thalamus) and the
    infratentorial zone border them.
    """
    pools = (csf > 0.5) & (depth > 12)
    labels, n = ndimage.label(pools)
    if not n:
        return pools
    sizes = ndimage.sum_labels(pools, labels, index=np.arange(1, n + 1))
    fluid, _ = ndimage.label((csf > 0.5) | ~hull)
    outside = np.unique(fluid[~hull])
    keep = [
        k
        for k in 1 + np.flatnonzero(sizes >= 300)
        if not np.isin(fluid[labels == k], outside[outside > 0]).any()
    ]
    return np.isin(labels, keep)


def _sharpen_wm(wm: np.ndarray, tissue: np.ndarray) -> np.ndarray:
    """White-matter fraction with a ~1 mm GM/WM boundary instead of the template's ~3 mm.

    Averaging 152 brains smears the GM/WM edge, so the cortical ribbon and the WM cores of the
    gyri barely show in a FLAIR rendered from the raw maps; a logistic ramp around 0.5 (width
    0.1) restores an individual-brain edge without moving it. Where the average smeared the WM
    most (inferior temporal and orbitofrontal lobes, where the stems peak at 0.5-0.8), the
    ramp is applied to the WM relative to its local peak (within ~6 mm, floor 0.45), so those
    stems stay white matter instead of turning the lobe into uniform grey. Never exceeds GM+WM.
    """
    peak = ndimage.maximum_filter(ndimage.gaussian_filter(wm, 1.0), size=13)
    relative = wm / np.clip(ndimage.gaussian_filter(peak, 3.0), 0.45, 1.0)
    sharp = 1.0 / (1.0 + np.exp(-(np.minimum(relative, 1.0) - 0.5) / 0.1))
    return np.minimum(sharp, tissue).astype(np.float32)


def _sulcal_lines(
    wm: np.ndarray, hull: np.ndarray, depth: np.ndarray, infra: np.ndarray, medial: np.ndarray
) -> np.ndarray:
    """Float32 [0, 1]: a ~1.5 mm line through the middle of the GM between opposite WM banks.

    In a single brain each sulcus is a thin CSF sheet midway between the two banks of cortex;
    in the template it is blurred into GM. Its place is the medial ridge of the distance to WM
    (where that distance stops increasing: gradient magnitude < 0.6 instead of 1), at least
    1.2 mm from WM, less than 24 mm deep in the hull or in the ``medial`` cortex (cortex, not
    the deep grey nuclei), and away from the cerebellum, whose folia are below 1 mm.
    """
    dist = ndimage.distance_transform_edt(wm < 0.5)
    grad = np.sqrt(sum(g * g for g in np.gradient(ndimage.gaussian_filter(dist, 0.8))))
    near_infra = ndimage.binary_dilation(infra, iterations=4)
    cortex = (depth < 24) | medial
    ridge = (grad < 0.6) & (dist > 1.2) & hull & cortex & ~near_infra
    return np.clip(ndimage.gaussian_filter(ridge.astype(np.float32), 0.6) * 2.5, 0.0, 1.0)


# Corticospinal tract centre line in MNI mm (|x|, y, z), from the corona radiata down through the
# posterior limb of the internal capsule and the cerebral peduncle to the pons. Real FLAIR often
# shows it mildly hyperintense; a hand-written polyline because no offline atlas ships it.
_CST_MM = np.array(
    [
        (24, -22, 55),
        (24, -19, 35),
        (23, -16, 18),
        (21, -15, 6),
        (16, -18, -8),
        (11, -22, -20),
        (8, -26, -32),
    ],
    dtype=np.float64,
)


#: x-indices of the 1 mm grid within 1 mm of the MNI midline (x = 0 mm is index 90).
MIDLINE_SLAB = np.s_[89:92]
#: How much further (mm) the medial cortex counts from the interhemispheric fissure's pia than
#: from any other for atrophy. The falx holds the medial surfaces together: with the fissure's
#: slab counted as plain pia, the slab's cortex turned smoothly into CSF wherever a case's
#: atrophy was deep, a smooth dark frontal area on the midline sagittal slice of 3 of 8 seeds
#: that no real scan shows. The medial sulci still open as any other.
FALX_PIA_MM = 1.5


def pial_outside(
    hull: np.ndarray, csf: np.ndarray, wm: np.ndarray, vent_dist: np.ndarray, infra: np.ndarray
) -> np.ndarray:
    """Bool (X, Y, Z) on the 1 mm grid: what lies beyond the pia of the cerebral cortex.

    Outside the hull, CSF-filled fissures (CSF > 0.5, > 4 mm from the ventricles), and the
    interhemispheric fissure: the midline slab where it is not WM (the corpus callosum), not
    infratentorial and not the deep grey nuclei. The average blurred that fissure: only 28 %
    of the slab has CSF > 0.5 (median 0.33), so without it the medial cortex had almost no pia
    and neither folded nor thinned.
    """
    fissure = np.zeros(hull.shape, bool)
    fissure[MIDLINE_SLAB] = True
    fissure &= hull & (wm < 0.5) & ~infra & ~non_cortical_grey(hull.shape, MNI_AFFINE_1MM)
    return ~hull | ((csf > 0.5) & (vent_dist > 4.0)) | fissure


def _nawm_pattern(
    shape: tuple[int, int, int], affine: np.ndarray, vent_dist: np.ndarray, y_vent: float
) -> np.ndarray:
    """Float32 regional NAWM brightness pattern (unitless, [0, 1]) on the 1 mm grid.

    Two smooth components that real FLAIR shows and a single texture does not: brighter
    corticospinal tracts (Gaussian tube, sigma 4 mm) and brighter posterior periventricular WM
    (decays over ~8 mm from the ventricles, behind their centre). (Until round 14 it also held
    a darker frontal WM at 0.6 x the tracts' gain; that darkening now varies with the
    acquisition, :func:`frontal_wm_ramp`.)
    """
    x, y, z = mm_grid(shape, affine)
    cst = polyline_tube(x, y, z, _CST_MM, 4.0, 4.0, fade_mm=4.0)
    jj = np.arange(shape[1], dtype=np.float32)[None, :, None]
    posterior = np.clip((y_vent - jj) / 15.0, 0.0, 1.0)  # voxel rows behind the ventricles' centre
    lateral = np.clip((np.abs(x) - 8.0) / 8.0, 0.0, 1.0)  # not the splenium on the midline
    halo = np.exp(-np.maximum(vent_dist - 1.0, 0.0) / 8.0) * (vent_dist > 0) * posterior * lateral
    return (cst + 0.6 * halo).astype(np.float32)


#: MNI y (mm) behind which the WM is brightest and in front of which it is darkest, and where
#: between them it keeps its level (about the WM's centre of mass; :func:`frontal_wm_ramp`).
FRONTAL_WM_MM = (-50.0, 50.0, -10.0)


def frontal_wm_ramp(shape: tuple[int, int, int], affine: np.ndarray) -> np.ndarray:
    """Float32 (1, Y, 1), broadcastable to ``shape``: linear in MNI y, 0 at y = -10 mm, -0.4
    behind y = -50 mm and +0.6 in front of y = +50 mm (``FRONTAL_WM_MM``); the WM darkens by a
    per-case share of it (``flair.Contrast.frontal_wm``), so the back brightens as the front
    darkens and the NAWM level a scan is normalised by stays where it was. ``affine`` diagonal
    (the MNI grid's)."""
    y = affine[1, 1] * np.arange(shape[1], dtype=np.float32) + affine[1, 3]
    back, front, level = FRONTAL_WM_MM
    ramp = (np.clip(y, back, front) - level) / (front - back)
    return ramp.astype(np.float32)[None, :, None]


#: How far (mm) outside the brain ``Template.outside_mm`` is measured: beyond any loose rim.
OUTSIDE_CAP_MM = 4.0


def _build_template_1mm() -> Template:
    gm = _nilearn_on_mni_grid("gm")
    wm = _nilearn_on_mni_grid("wm")
    t1 = _nilearn_on_mni_grid("t1")
    infra = _infratentorial_region(MNI_SHAPE_1MM, MNI_AFFINE_1MM)
    # the average's ~3 mm interhemispheric fissure narrowed: the hemispheres pulled together
    # where the midline is fissure (medial cortex within 4 mm of it)
    midline, fissure = fissure_weight_yz(gm + wm, wm, infra, MNI_AFFINE_1MM, reach_vox=4)
    gm, wm, t1 = narrow_fissure((gm, wm, t1), midline, fissure)
    tissue = gm + wm
    # Brain hull: GM+WM closed over sulci and with ventricles filled; CSF is what the hull adds.
    hull = ndimage.binary_closing(
        tissue > 0.3, structure=ndimage.generate_binary_structure(3, 1), iterations=3
    )
    hull = ndimage.binary_fill_holes(hull)
    # +1.5 mm of outer CSF: skull-stripped real scans keep a thin dark rim around the cortex
    hull_soft = ndimage.gaussian_filter(
        ndimage.binary_dilation(hull, iterations=1).astype(np.float32), 1.0
    )
    csf = np.clip(hull_soft - tissue, 0.0, 1.0)
    # Dark T1 confirms CSF; bright T1 in the hull rim is skull/dura partial volume, not CSF.
    csf *= np.clip((0.55 - t1 / max(float(t1.max()), 1e-6)) / 0.25, 0.0, 1.0) ** 0.5
    csf = csf.astype(np.float32)

    depth = ndimage.distance_transform_edt(hull)
    ventricles = _lateral_ventricles(csf, hull, depth)
    vent_dist = np.minimum(ndimage.distance_transform_edt(~ventricles), 40.0).astype(np.float32)

    wm_sharp = _sharpen_wm(wm, tissue)
    outer = pial_outside(hull, csf, wm_sharp, vent_dist, infra)
    falx = np.zeros_like(outer)
    falx[MIDLINE_SLAB] = outer[MIDLINE_SLAB] & hull[MIDLINE_SLAB]
    medial = medial_cortex(falx, vent_dist, MNI_AFFINE_1MM)
    sulci = _sulcal_lines(wm_sharp, hull, depth, infra, medial)
    # The ridge detector marks the whole interhemispheric fissure, which the average widened:
    # opened, it made the midline sagittal slice a dark slab; a real fissure is a thin falx.
    sulci[MIDLINE_SLAB] *= np.float32(0.35)
    # the folding the average lost: extra sulci with their cortical ribbon, cerebellar folia
    cerebellum = cerebellum_region(MNI_SHAPE_1MM, MNI_AFFINE_1MM) & infra
    rng = np.random.default_rng(FOLDING_SEED)
    gm_sharp = np.clip(tissue - wm_sharp, 0.0, 1.0).astype(np.float32)
    pial_depth = ndimage.distance_transform_edt(~outer).astype(np.float32)
    band = cortical_band(pial_depth, cerebellum, MNI_AFFINE_1MM)
    sulci = extra_sulci(wm_sharp, sulci, pial_depth, band, MNI_AFFINE_1MM, rng)
    gm_sharp, wm_sharp, sulci = thin_cortex(gm_sharp, wm_sharp, sulci, outer, band)
    deep_rng = np.random.default_rng([FOLDING_SEED, 1])  # (the folia keep their own draws)
    shallow = sulci > 0.5  # (a sulcus' deep continuation is closed: no pia for the atrophy)
    gm_sharp, wm_sharp, sulci = deep_sulci(
        gm_sharp, wm_sharp, sulci, pial_depth, band, vent_dist, deep_rng
    )
    gm_sharp, wm_sharp, sulci = cerebellar_folia(
        gm_sharp, wm_sharp, sulci, cerebellum, MNI_AFFINE_1MM, rng
    )
    # where each case's atrophy moves the cortical pia in: the final sulcal lines count as pia
    # (the 20 mm cap is far beyond any atrophy depth; the cerebellum and brainstem keep theirs)
    pial_mm = np.minimum(
        ndimage.distance_transform_edt(~((outer & ~falx) | shallow)),
        ndimage.distance_transform_edt(~falx) + FALX_PIA_MM,
    )
    pial_mm = np.where(band > 0, np.minimum(pial_mm, 20.0), 20.0).astype(np.float32)
    surface_mm = np.where(band > 0, np.minimum(pial_depth, 20.0), 20.0).astype(np.float32)

    # zones keep the template's own (unsharpened) maps: the location shares were tuned on them
    cortex = (gm > 0.5) & (depth < 10)
    ctx_dist = ndimage.distance_transform_edt(~cortex)
    whiteish = wm > 0.6
    zones = np.zeros(MNI_SHAPE_1MM, np.uint8)
    zones[whiteish] = 4
    zones[whiteish & (ctx_dist <= 3.5)] = 2
    zones[whiteish & (vent_dist <= 8) & (vent_dist > 0)] = 1
    zones[((wm > 0.5) | ((wm + gm) > 0.85)) & infra & (csf < 0.1)] = 3

    # Caps: a thin bright rim at the frontal and occipital horns (far in Y from the ventricles).
    vy = np.nonzero(ventricles)[1]
    y_centre = float(vy.mean()) if vy.size else MNI_SHAPE_1MM[1] / 2
    horn = np.clip((np.abs(np.arange(MNI_SHAPE_1MM[1]) - y_centre) - 12.0) / 15.0, 0.0, 1.0)
    rim = np.exp(-np.maximum(vent_dist - 1.0, 0.0) / 2.0) * (vent_dist > 0) * (wm > 0.3)
    caps = (rim * horn[None, :, None]).astype(np.float32)
    nawm = _nawm_pattern(MNI_SHAPE_1MM, MNI_AFFINE_1MM, vent_dist, y_centre)
    # the septum pellucidum the average thinned out of the brain mask, then the bright anatomy
    gm_sharp, csf = add_septum(gm_sharp, wm_sharp, csf, vent_dist, MNI_AFFINE_1MM)
    bright = bright_anatomy(gm_sharp, wm_sharp, vent_dist, MNI_AFFINE_1MM)
    # the basal cisterns the average left out of the brain mask (after the bright anatomy,
    # which would brighten their tissue share next to the brainstem)
    gm_sharp, csf = fill_cisterns(gm_sharp, wm_sharp, csf)
    brain = (gm_sharp + wm_sharp + csf) > 0.5
    outside_mm = np.minimum(ndimage.distance_transform_edt(~brain), OUTSIDE_CAP_MM)
    return Template(
        gm=gm_sharp,
        wm=wm_sharp,
        csf=csf,
        caps=caps,
        sulci=sulci,
        sulci_core=sulcal_core(sulci),
        nawm=nawm,
        vent_dist=vent_dist,
        zones=zones,
        affine=MNI_AFFINE_1MM.copy(),
        voxel_size_mm=1.0,
        bright=bright,
        pial_mm=pial_mm,
        surface_mm=surface_mm,
        outside_mm=outside_mm.astype(np.float32),
    )


def _resample_to(tpl: Template, voxel_size_mm: float) -> Template:
    """Downsample (or upsample) the 1 mm template to another isotropic voxel size."""
    shape, affine = mni_grid(voxel_size_mm)
    matrix = np.linalg.inv(tpl.affine) @ affine  # output voxel -> 1 mm voxel
    sigma = max(0.0, 0.42 * (voxel_size_mm - 1.0))  # anti-aliasing before subsampling

    def smooth(a: np.ndarray, order: int = 1) -> np.ndarray:
        src = ndimage.gaussian_filter(a, sigma) if sigma > 0 and order > 0 else a
        return ndimage.affine_transform(
            src, matrix[:3, :3], matrix[:3, 3], output_shape=shape, order=order
        ).astype(a.dtype)

    return Template(
        gm=smooth(tpl.gm),
        wm=smooth(tpl.wm),
        csf=smooth(tpl.csf),
        caps=smooth(tpl.caps),
        sulci=smooth(tpl.sulci),
        sulci_core=smooth(tpl.sulci_core),
        nawm=smooth(tpl.nawm),
        vent_dist=smooth(tpl.vent_dist) * np.float32(1.0),
        zones=smooth(tpl.zones, order=0),
        affine=affine,
        voxel_size_mm=float(voxel_size_mm),
        bright=smooth(tpl.bright),
        pial_mm=smooth(tpl.pial_mm),
        surface_mm=smooth(tpl.surface_mm),
        outside_mm=smooth(tpl.outside_mm),
    )


# 23: how central across its sulcal line a voxel lies (``sulci_core``);
# 22: every sulcus continued into the WM (``folding.deep_sulci``);
# 21: a 2.0 mm cortex along every pia (``folding.PIAL_CORTEX_MM``, was 2.5);
# 20: the distance outside the brain (``outside_mm``) for a loose mask's outer CSF;
# 19: the medial surface's own sulci (cingulate, callosal) traced (``folding.medial_cortex``);
# 18: the basal cisterns filled (``normal.fill_cisterns``);
# 17: the depth below the outer surface (``surface_mm``) for the sulci's taper, a 2.5 mm
# cortex (``folding.PIAL_CORTEX_MM``);
# 16: the frontal WM darkening left the NAWM pattern (per case now, ``frontal_wm_ramp``);
# 15: the midline counts further from the pia for atrophy (``FALX_PIA_MM``);
# 14: a narrower interhemispheric fissure; 13: WM laminae in the cerebellar folia;
# 12: extra sulci drawn per hemisphere;
# 11: the pial depth map for cortical atrophy (``pial_mm``); 10: only the lateral ventricles
# count as ventricles (not the fissures); 9: thin extra sulci
# that spare the gyral WM, cortex thinned to 3 mm from the pia, the interhemispheric fissure as
# pia; 8: leaning extra sulci, WM sharpened vs its local peak
_CACHE_VERSION = 23
_FIELDS = (
    "gm",
    "wm",
    "csf",
    "caps",
    "sulci",
    "sulci_core",
    "nawm",
    "vent_dist",
    "zones",
    "affine",
    "bright",
    "pial_mm",
    "surface_mm",
    "outside_mm",
)


def _cache_file(voxel_size_mm: float) -> Path:
    return default_cache_dir() / f"synth_template_{voxel_size_mm:g}mm_v{_CACHE_VERSION}.npz"


def _load_cached(voxel_size_mm: float) -> Template | None:
    path = _cache_file(voxel_size_mm)
    try:
        with np.load(path) as z:
            arrays = {k: z[k] for k in _FIELDS}
    except (OSError, KeyError, ValueError):
        return None
    return Template(**arrays, voxel_size_mm=float(voxel_size_mm))


def _store_cached(tpl: Template) -> None:
    """Best effort: a read-only home only costs the rebuild next time."""
    from mslesion.io.atomic import atomic_output

    try:
        with (
            atomic_output(_cache_file(tpl.voxel_size_mm), overwrite=True) as tmp,
            open(tmp, "wb") as fh,
        ):
            np.savez(fh, **{k: getattr(tpl, k) for k in _FIELDS})
    except OSError:
        return
    prune_old_versions(default_cache_dir(), "synth_template_", _CACHE_VERSION)


@functools.lru_cache(maxsize=4)
def mni_template(voxel_size_mm: float = 1.0) -> Template:
    """The MNI152 2009a template on the project grid at ``voxel_size_mm``.

    Cached in memory per process and as ``.npz`` in :func:`default_cache_dir` (building the
    1 mm template takes about 30 s; loading it about 0.3 s).
    """
    v = float(voxel_size_mm)
    cached = _load_cached(v)
    if cached is not None:
        return cached
    tpl = _build_template_1mm() if v == 1.0 else _resample_to(mni_template(1.0), v)
    _store_cached(tpl)
    return tpl
