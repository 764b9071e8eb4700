"""One synthetic case from (seed, config): anatomy -> deformation -> lesions -> FLAIR.

:func:`generate_case` is pure given its arguments (all randomness comes from
``numpy.random.Generator`` streams seeded with ``seed``), so it is safe in DataLoader workers
and the same seed always gives the same arrays.
"""

from __future__ import annotations

import functools
from typing import Any

import cc3d
import numpy as np

from mslesion.infer.crop import brain_box
from mslesion.synth.acquisition import acquire, place_brain, place_slices
from mslesion.synth.anatomy import ZONES, Template, frontal_wm_ramp, mni_template
from mslesion.synth.atrophy import (
    MEDIAL_CALM_ATROPHY,
    MEDIAL_CALM_OPEN,
    OPENING_TAPER,
    WIDENING_TAPER,
    atrophy_depth_mm,
    cortical_atrophy,
    medial_calm,
    open_fissure,
    open_sulci,
    sulcal_taper,
)
from mslesion.synth.config import SynthCase, SynthConfig
from mslesion.synth.deep_grey import DeepGrey, deep_grey_weights
from mslesion.synth.fields import (
    SHARPEN_3D,
    SHARPEN_CSF_3D,
    SHARPEN_SIGMA_VOX,
    one_blas_thread,
    random_sampling_grid,
    sharpen_csf_steps,
    sharpen_inside,
    warp_linear,
    warp_nearest,
)
from mslesion.synth.flair import (
    KNEE_3D,
    KNEE_SLOPE_3D,
    LESION_GAIN_2D,
    Contrast,
    add_lesions,
    compress_above,
    lesion_halo,
    nawm_modulation,
    texture_and_bias,
    tissue_image,
)
from mslesion.synth.folding import fissure_weight_yz
from mslesion.synth.lesion_kinds import place_procedural
from mslesion.synth.lesions import LesionCanvas, PlacementContext, allowed_region
from mslesion.synth.skullstrip import cut_radius_mm, loose_rim_mm, outer_csf, tighten


@functools.lru_cache(maxsize=4)
def _ventricle_centre(voxel_size_mm: float) -> np.ndarray:
    tpl = mni_template(voxel_size_mm)
    return np.argwhere(tpl.vent_dist <= 0.5 * voxel_size_mm).mean(0).astype(np.float32)


@functools.lru_cache(maxsize=4)
def _deep_grey(voxel_size_mm: float) -> DeepGrey:
    tpl = mni_template(voxel_size_mm)
    return deep_grey_weights(tpl.shape, tpl.affine)


@functools.lru_cache(maxsize=4)
def _medial_calm(voxel_size_mm: float) -> np.ndarray:
    tpl = mni_template(voxel_size_mm)
    return medial_calm(tpl.shape, tpl.affine)


_INFRATENTORIAL = next(k for k, name in ZONES.items() if name == "infratentorial")


@functools.lru_cache(maxsize=4)
def _fissure_weight(voxel_size_mm: float) -> tuple[float, np.ndarray]:
    """(x index of the midline, weight (Y, Z)) for the hemisphere shear of
    :func:`mslesion.synth.fields.hemisphere_offsets` (:func:`folding.fissure_weight_yz` on the
    template: where the midline is the fissure, which the shear must not tear elsewhere)."""
    tpl = mni_template(voxel_size_mm)
    tissue = tpl.gm + tpl.wm + tpl.csf
    return fissure_weight_yz(tissue, tpl.wm, tpl.zones == _INFRATENTORIAL, tpl.affine)


#: Version of the images a seed produces. Bump it whenever the same seed and settings give
#: other images (a realism round): caches of generated volumes (training's float16 memmaps) are
#: keyed by it, so an upgrade never trains on volumes of the previous generator. 3: round 3
#: (normal bright anatomy, dirty-appearing WM, lesion halo); 4: round 4 (leaning extra sulci, WM
#: sharpened against its local peak, fewer opened sulci, mottled lesion cores); 5: round 5 (thin
#: extra sulci that spare the gyral WM cores, cortex at most 3 mm from its pia, medial folding);
#: 6: only the lateral ventricles count as ventricles (the fissures no longer host
#: periventricular lesions, caps and dirty WM); 7: round 6 (resolution blur before the noise,
#: interpolation blur after it, per-case noise level; tapered, lumpy confluent bands with
#: fingers; lesion cores re-tuned to the sharper images); 8: ovoid, bent focal lesions, half
#: of the blobs with a second lobe (real lesions' elongation and fill); 9: round 7 (plaques as
#: chains of flat lobes along the ventricle, Dawson's fingers rooted at the wall, flat
#: periventricular lesions, a wider size distribution, bands sized in voxels on coarse grids);
#: 10: round 8 (per-case cortical atrophy, ragged large lesions, fewer and capped
#: infratentorial lesions, slimmer focal blobs); 11: round 9 (extra sulci drawn per hemisphere
#: and the hemispheres slid along the falx, brighter cortex, dimmer and less mottled large
#: lesions, softer acquisition blur with a little more, finer noise); 12: round 10 (plaques as
#: longer chains of flatter lobes, bands elongated along the ventricle, both spiky with many
#: Dawson's fingers and brighter cores; a little more NAWM variation); 13: round 11 (branched
#: lobed focal lesions, flatter and dimmer lesion interiors with a bright fringe outside the
#: mask, 60 % of the cases smooth through the slices like 2D acquisitions, the rest sharper and
#: noisier, wider ventricles; the faster separable upsampling alone changes the random layout
#: of a seed); 14: round 12 (patchy confluent masses cuffing the ventricles in some medium and
#: high loads, 3D cases' noise correlated before the magnitude, WM laminae in the cerebellar
#: folia and a narrower interhemispheric fissure in the template, every case made on one BLAS
#: thread); 15: round 13 (atrophy opens the interhemispheric fissure less than other pia, ~25 %
#: more and smaller focal lesions in a wider size spread, masses with longer fingers and
#: thicker at the horns); 16: round 14 (calmer NAWM: less texture, a weaker ~25 mm field and
#: patches, a weaker bias field and dirty WM; the WM darkens towards the front per case, much
#: more in 2D cases than in 3D ones; one more draw per contrast shifts a seed's later draws);
#: 17: round 15 (sulci open and widen less towards their fundus, deeper atrophy at their mouth,
#: a 2.5 mm cortex in the template, noisier 2D cases, sharper 3D ones); 18: round 16 (large
#: lesions' ragged outlines cut on a coarser lattice; masses thicker, lined all along the wall,
#: thickest at the horns, with fewer, shorter, thicker fingers kept on their side); 19: round 17
#: (deep grey nuclei dimmer than the cortex, the pallidum darker than the WM; two more draws per
#: contrast shift a seed's later draws); 20: round 18 (the basal cisterns inside the brain mask,
#: dark grey, not black holes; the cortex brighter in 2D cases than in 3D ones); 21: round 19
#: (blotchier NAWM: a stronger ~4 mm texture, ~25 mm field and ~10 mm patches; same draws);
#: 22: round 20 (sulci widened by atrophy close faster below their mouth; tight or loose brain
#: masks, drawn from a stream of their own; the skull strip before the resampling blur); 23:
#: round 21 (the medial surface's own sulci traced in the template: cingulate, callosal); 24:
#: round 22 (a loose brain mask keeps a per-case rim of outer CSF, drawn last from the mask's
#: stream: a seed's other draws are unchanged); 25: round 23 (2D acquisitions read as slices
#: 2.9-4.7 mm apart, with their own slice profile and noise correlated within each slice; the
#: same draws but for a 2D case's noise, and its slices' offset drawn just before that); 26:
#: round 24 (a 2.0 mm cortex along every pia in the template; 3D cases' anatomy sharpened
#: after its warp, before the lesions, with a dimmer pure cortex; the same draws); 27: round 25
#: (lesion contrast by acquisition: 2D cores x1.5 their excess, 3D images compressed above 1.3
#: x WM; the same draws); 28: round 26 (2D cases' deep grey nuclei dimmed less, their noise
#: level drawn within 1.4x of its median instead of 2x; the same draws); 29: round 27 (the
#: medial cortex above the corpus callosum opens its sulci and atrophies less; the same draws,
#: lesions placed anew where the atrophy changed the allowed region); 30: round 28 (every
#: sulcus continued 1.5-5.5 mm into the WM with its cortex, template cache 22; sulci opened
#: 0.3-0.65 instead of 0.4-0.75; the same draws, lesions placed anew in the new WM); 31: round
#: 29 (a finer grain: 3D noise correlated over 0.40-0.58 mm instead of 0.45-0.65, texture
#: 0.042-0.072 and grain 0.018-0.03 instead of 0.07-0.12 and 0.03-0.05; the same draws and
#: lesions, other voxel values); 32: the lesions (placement and core mottle) draw from their
#: own stream, so anatomy or lesion changes no longer reshuffle the texture, bias and noise
#: (every seed's lesions and later draws anew, once); 33: round 30 (the resolution coarser
#: along Y, the phase-encoding direction: anatomy blurred 0.45-0.75 mm (2D) or 0.6-1.0 mm (3D)
#: more along Y, the in-plane blur dropped, the 3D sharpening 0.8 instead of 0.35; the same
#: draws and lesions, other voxel values); 34: the 3D sharpening 1.2 (the 3D cases' edges as
#: steep as the real 3D scans' again; the same draws); 35: round 31 (a sulcus opens from its
#: middle out, a thin sheet of pure CSF, template cache 23; sulci opened 0.4-0.75, their
#: fundus 0.8 of their mouth instead of 0.3; 3D sharpening 0.8, 3D noise 1.55 x 1 / snr
#: instead of 1.8; the same draws, lesions placed anew in the new allowed region); 36: round
#: 32 (3D cases only: a second sharpening on the voxels next to CSF, their sulci opened 0.55 x
#: the draw; 2D cases byte-identical, 3D lesions placed anew where the sulci moved); 37: round
#: 33 (3D cases only: the interhemispheric fissure opened 0.3-0.9 mm each side of the midline,
#: wandering, on a stream of its own; 2D cases byte-identical); 38: round 34 (2D cases only:
#: slices tilted to the grid, their offset and tilt on a stream of their own; 3D cases
#: byte-identical); 39: round 35 (3D cases only: the sharpening never drives a voxel below 0,
#: where the noise's magnitude had turned a thin line of CSF bright; the brain 0.80-0.92 of
#: the template's size, as a rigid registration leaves it, their blur along Y 0.45-0.8 mm
#: (0.6-1.0), their sharpening 0.6 (0.8) and their fissure's walls fading over 2.5 mm; 2D
#: cases byte-identical); 40: round 36 (3D cases only: their midline bends sideways and their
#: interhemispheric fissure closes in stretches, the bend on a stream of its own; 2D cases
#: byte-identical); 41: round 36 too (2D cases only: each voxel read back between its two
#: slices along their normal, not down its column; 3D cases byte-identical).
GENERATOR_VERSION = 41


def _finalize(
    canvas: LesionCanvas, min_voxels: int, voxel_mm3: float
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Mask (uint8) and one record per 26-connected lesion; drops lesions below ``min_voxels``."""
    labels = cc3d.connected_components(canvas.alpha > 0, connectivity=26)
    stats = cc3d.statistics(labels)
    counts = stats["voxel_counts"]
    small = np.flatnonzero(counts < min_voxels)
    small = small[small > 0]
    if small.size:
        drop = np.isin(labels, small)
        canvas.alpha[drop] = 0
        labels[drop] = 0
    records: list[dict[str, Any]] = []
    for label in range(1, len(counts)):
        if counts[label] < min_voxels:
            continue
        box = stats["bounding_boxes"][label]
        inside = labels[box] == label
        owners = canvas.owner[box][inside]
        owners = owners[owners >= 0]
        main = canvas.placed[int(np.bincount(owners).argmax())] if owners.size else {}
        records.append(
            {
                "label": len(records) + 1,
                "zone": main.get("zone", "unknown"),
                "shape": main.get("shape", "unknown"),
                "contrast": round(float(main.get("contrast", 0.0)), 4),
                "parts": int(np.unique(owners).size),
                "voxels": int(counts[label]),
                "volume_mm3": float(counts[label] * voxel_mm3),
                "centre_vox": [round(float(c), 2) for c in stats["centroids"][label]],
            }
        )
    return (canvas.alpha > 0).astype(np.uint8), records


BRAIN, ALLOWED = 1, 2  # values of the label volume warped alongside the image


def _template_image(
    tpl: Template,
    config: SynthConfig,
    contrast: Contrast,
    rng: np.random.Generator,
    fissure_rng: np.random.Generator,
    rim_mm: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free FLAIR (WM = 1) and labels (0 / BRAIN / ALLOWED) in template space, (X, Y, Z);
    ``rim_mm``: the CSF (mm) a loose skull strip keeps beyond the template's brain;
    ``fissure_rng``: the interhemispheric fissure's own stream (its draws leave the case's
    other draws where they were).

    Rendering before warping means one trilinear warp per sample instead of one per tissue map
    (the warp dominates the cost at 1 mm).
    """
    # open the sulci the template blurred into GM (by a regionally varying share), less and
    # less towards their fundus, and less in the medial cortex above the corpus callosum
    v_mm = config.voxel_size_mm
    calm = _medial_calm(v_mm)
    sulci = tpl.sulci * sulcal_taper(tpl.surface_mm, OPENING_TAPER)
    sulci *= 1 - np.float32(MEDIAL_CALM_OPEN) * calm
    core, share = tpl.sulci_core, contrast.sulci_open
    gm, csf = open_sulci(tpl.gm, tpl.csf, sulci, core, v_mm, share, rng)
    if config.anatomy != "real":  # (real scans carry their own atrophy)
        # MS brains are atrophied: the pia moves in by a per-case, regionally varying depth
        depth = atrophy_depth_mm(tpl.shape, v_mm, rng)
        depth *= sulcal_taper(tpl.surface_mm, WIDENING_TAPER)
        depth *= 1 - np.float32(MEDIAL_CALM_ATROPHY) * calm
        gm, csf = cortical_atrophy(gm, csf, tpl.pial_mm, depth, v_mm)
        if not contrast.two_d:  # (the real 2D scans' thick slices fill their fissure in)
            gm, csf = open_fissure(gm, csf, *_fissure_weight(v_mm), v_mm, fissure_rng)
    allowed = allowed_region(gm, tpl.wm, csf)
    if config.anatomy == "real":
        from mslesion.synth.real import real_anatomy

        image, brain = real_anatomy(rng, v_mm, config.data_root)
        # real scans: lesions only where the (lesion-filled) image looks like normal WM
        allowed &= brain & (image > 0.85) & (image < 1.2)
        image = image.copy()
    else:
        if rim_mm > 0:  # (the rim's CSF fills what the tissue maps leave empty)
            empty = np.clip(1.0 - gm - tpl.wm - csf, 0.0, 1.0)
            csf = csf + outer_csf(tpl.outside_mm, rim_mm) * empty
        brain = (gm + tpl.wm + csf) > 0.5
        frontal = frontal_wm_ramp(tpl.shape, tpl.affine)
        nawm = nawm_modulation(tpl.nawm, v_mm, contrast, rng, tpl.vent_dist, frontal)
        deep = _deep_grey(v_mm)
        image = tissue_image(gm, tpl.wm, csf, tpl.caps, brain, contrast, nawm, tpl.bright, deep)
    labels = np.where(allowed, ALLOWED, np.where(brain, BRAIN, 0)).astype(np.uint8)
    return image, labels


def generate_case(seed: int, config: SynthConfig = SynthConfig()) -> SynthCase:  # noqa: B008 (frozen, safe)
    """Make one synthetic FLAIR with its exact lesion mask.

    Returns a :class:`SynthCase` on the MNI grid at ``config.voxel_size_mm`` (182x218x182 at
    1 mm): ``flair`` float32 (X, Y, Z), ``lesion_mask`` and ``brain_mask`` uint8 (X, Y, Z).
    """
    # on one BLAS thread: the matrix products of ``fields.upsample_linear`` round differently
    # with the thread count (OpenBLAS splits the sums), so the main process (2 threads on a
    # 2-core machine) and a writer or DataLoader worker (1) gave the same seed different bytes
    with one_blas_thread():
        return _generate_case(int(seed), config)


#: Tells the lesions' random stream (placement and core mottle) from the case's main one
#: (and from the brain mask's, ``skullstrip._STREAM`` 20).
_LESION_STREAM = 21
_FISSURE_STREAM = 22  # the interhemispheric fissure's opening (3D cases)
_SLICE_STREAM = 23  # where a 2D acquisition's slices lie (tilt, offset)
_REGISTRATION_STREAM = 24  # how large a 3D case's brain stays on the grid
_BEND_STREAM = 25  # how a 3D case's midline bends


def case_contrast(seed: int, rng: np.random.Generator | None = None) -> Contrast:
    """Case ``seed``'s tissue levels and acquisition: the first draws of its main stream
    (``rng``, at its start; a fresh one if None), where its 2D slices lie (tilt, offset) and
    how large its brain stays (3D) from streams of their own. (Also what a benchmark reads to
    compare a case with its draw.)"""
    rng = np.random.default_rng(seed) if rng is None else rng
    c = place_slices(Contrast.draw(rng), np.random.default_rng((seed, _SLICE_STREAM)))
    return place_brain(c, np.random.default_rng((seed, _REGISTRATION_STREAM)))


def _generate_case(seed: int, config: SynthConfig) -> SynthCase:
    rng = np.random.default_rng(seed)
    # the lesions draw as many numbers as their placement needs (its rejections depend on the
    # anatomy): on their own stream, a change to the anatomy or to the lesions no longer
    # reshuffles every later draw of the seed (texture, bias field, noise)
    lesion_rng = np.random.default_rng((seed, _LESION_STREAM))
    v = float(config.voxel_size_mm)
    tpl = mni_template(v)
    contrast = case_contrast(seed, rng)
    # where the skull strip cuts (real scans carry their own brain mask): a loose cut keeps a
    # rim of outer CSF that is rendered with the anatomy, a tight one cuts after the warp
    cut_mm, rim_mm = 0.0, 0.0
    if config.anatomy != "real":
        cut_mm = cut_radius_mm(seed, config.brain_mask)
        rim_mm = loose_rim_mm(seed, config.brain_mask)
    fissure_rng = np.random.default_rng((seed, _FISSURE_STREAM))
    image_t, labels_t = _template_image(tpl, config, contrast, rng, fissure_rng, rim_mm)
    sampling = random_sampling_grid(
        tpl.shape,
        v,
        rng,
        _ventricle_centre(v),
        config.deform,
        _fissure_weight(v),
        # (a real scan's anatomy keeps the size its own registration left it)
        brain_scale=contrast.brain_scale if config.anatomy != "real" else 1.0,
        # (the 3D cases' fissure is opened, and it bends; the 2D ones' slices fill it in)
        bend_rng=None if contrast.two_d else np.random.default_rng((seed, _BEND_STREAM)),
    )
    img = warp_linear(image_t, sampling)
    labels = warp_nearest(labels_t, sampling)
    # the region lesions may occupy is WM, never cut, but kept explicitly so the truth always
    # lies in the brain
    brain = tighten(img, labels > 0, cut_mm, v) | (labels == ALLOWED)
    img[~brain] = 0
    if not contrast.two_d:  # (what the warp blurred; within the brain's box, where it is)
        box = brain_box(brain, (3, 3, 3))
        img[box] = sharpen_inside(img[box], brain[box], SHARPEN_3D, SHARPEN_SIGMA_VOX)
        img[box] = sharpen_csf_steps(img[box], brain[box], SHARPEN_CSF_3D, SHARPEN_SIGMA_VOX)

    canvas = LesionCanvas.empty(tpl.shape)
    ctx = PlacementContext(labels == ALLOWED, sampling, tpl, v)
    if config.lesions == "library":
        from mslesion.synth.library import place_library

        place_library(ctx, canvas, config, lesion_rng)
    else:
        place_procedural(ctx, canvas, config, lesion_rng)
    voxel_mm3 = v**3
    # the size floor is physical (min_lesion_voxels at 1 mm), so coarse grids keep 1-voxel lesions
    min_voxels = max(1, int(np.ceil(config.min_lesion_voxels / voxel_mm3)))
    mask, records = _finalize(canvas, min_voxels, voxel_mm3)

    # (real anatomy carries its own scan's surroundings and contrast, whatever acquisition the
    # case drew)
    procedural = config.anatomy != "real"
    if procedural:
        lesion_halo(img, canvas.alpha, v, contrast)
    gain = LESION_GAIN_2D if contrast.two_d and procedural else 1.0
    add_lesions(img, canvas.alpha, canvas.contrast, mottle=(v, lesion_rng), gain=gain)
    if procedural and not contrast.two_d:
        compress_above(img, KNEE_3D, KNEE_SLOPE_3D)
    img = texture_and_bias(img, v, contrast, rng, bias=config.bias)
    # real scans already carry their own noise: add less
    snr = config.snr if config.anatomy != "real" or not config.snr else config.snr * 2
    img = acquire(img, brain, v, contrast, rng, snr, config.slice_thickness_mm)
    return SynthCase(
        flair=img,
        lesion_mask=mask,
        brain_mask=brain.astype(np.uint8),
        affine=tpl.affine.copy(),
        lesions=records,
        seed=seed,
        acquisition="2D" if contrast.two_d else "3D",
        brain_mask_style="tight" if cut_mm > 0 else "loose",
    )


class SyntheticCaseDataset:
    """On-the-fly cases for a training DataLoader: item ``i`` is ``generate_case(seed + i)``.

    Returns dicts of numpy arrays (``flair`` float32 (X, Y, Z), ``lesion_mask`` / ``brain_mask``
    uint8, ``affine`` (4, 4)) plus ``case_id``; a ``torch.utils.data.Dataset`` by duck typing
    (``__len__``/``__getitem__``), so it needs no torch import here.
    """

    def __init__(self, n: int, seed: int = 0, config: SynthConfig = SynthConfig()) -> None:  # noqa: B008
        self.n, self.seed, self.config = int(n), int(seed), config

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.n:
            raise IndexError(index)
        case = generate_case(self.seed + index, self.config)
        return {
            "case_id": f"case{self.seed + index:03d}",
            "flair": case.flair,
            "lesion_mask": case.lesion_mask,
            "brain_mask": case.brain_mask,
            "affine": case.affine,
        }
