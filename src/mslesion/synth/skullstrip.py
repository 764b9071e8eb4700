"""Where each synthetic case's brain mask is cut: loose (the CSF round the brain kept) or tight.

Skull-stripping tools differ in where they cut. Some keep the CSF between the brain and the
skull (the MSLesSeg scans here: a dark rim round the cortex, 74-97 % of the mask's outermost
voxels CSF-dark, < 0.5 x NAWM), others cut close to the pial surface (the open_ms_data scans:
61-72 % dark there, the rest bright cortex that meets the black background directly). Users
bring both kinds, so the generator draws both: a tight case keeps only what lies under a smooth
hull over the tissue (the tissue closed over gaps of a few millimetres, its cavities filled), so
the CSF round the brain goes while the ventricles and the sulci the hull bridges stay, as under
the smooth surface a skull-stripping tool fits. A loose cut keeps a width of CSF beyond the
template's 1.5 mm rim that each case draws (``LOOSE_RIM_MM``): tools and patients differ in
how much of the subarachnoid space ends up inside the mask.

The draws come from its own random stream (seeded by the case's seed), so adding it left every
other draw of a seed as it was.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from mslesion.infer.crop import brain_box
from mslesion.synth.config import BrainMaskStyle

#: Share of the cases a "mixed" configuration cuts tight.
TIGHT_SHARE = 0.4
#: Range (mm) of the radius of the closing whose hull a tight cut follows: gaps in the tissue's
#: surface up to about twice as wide are bridged (the sulci's mouths stay inside).
TIGHT_RADIUS_MM = (1.0, 3.0)
#: Noise-free intensity (x WM) below which a voxel counts as CSF for the cut: one with less than
#: about a fifth of tissue (CSF 0.06-0.2, WM 1, GM 1.3-1.7). Cut at 0.5, two synthetic tight
#: cases' outermost voxels read 44-46 % CSF-dark (median 0.52-0.53 x NAWM) vs 61-72 % (0.26-0.38)
#: in the real tight masks; at 0.3, 64-74 % (0.39-0.45).
CSF_LEVEL = 0.3
#: Range (mm) of the CSF a loose cut keeps beyond the template's brain (whose outer 1.5 mm
#: are already CSF), drawn uniformly per case: the outermost voxels, part CSF, join the mask
#: where the rim tops them up past half. The real loose (MSLesSeg) scans read 0.64-0.96
#: (median 0.77) CSF-dark in their mask's outermost millimetre and 0.16-0.59 (0.24) a
#: millimetre further in (``dark_1mm``, ``dark_2mm``). The 10 loose cases among seeds 0-13 (a
#: one-off script): without a rim 0.60-0.79 (0.74) and 0.07-0.29 (0.21), none with P14_T2's
#: wide rim; with 0-0.5 mm 0.67-0.90 (0.79) and 0.08-0.37 (0.27); 0-0.8 mm read 0.76-0.95
#: (0.84) and 0.11-0.51 (0.28) on 8 of them, and 0-1.2 mm gave 3 of the realism benchmark's
#: 5 loose cases a whole extra layer of CSF (its 8 cases' medians 0.88 and 0.33, the real
#: scans' 0.70 and 0.24).
LOOSE_RIM_MM = (0.0, 0.5)
#: Tells the mask style's random stream from the case's main one.
_STREAM = 20


def _draws(seed: int) -> tuple[bool, float, float]:
    """(tight?, closing radius, loose rim) of case ``seed``, in that order from its own
    stream, whatever the style: a seed's tight radius is the same in "mixed" and "tight", and
    the rim, drawn last, left the earlier two as they were."""
    rng = np.random.default_rng((int(seed), _STREAM))
    tight = bool(rng.random() < TIGHT_SHARE)
    radius = float(rng.uniform(*TIGHT_RADIUS_MM))
    rim = float(rng.uniform(*LOOSE_RIM_MM))
    return tight, radius, rim


def _is_tight(tight: bool, style: BrainMaskStyle) -> bool:
    return style == "tight" or (style == "mixed" and tight)


def cut_radius_mm(seed: int, style: BrainMaskStyle) -> float:
    """The closing radius (mm) of case ``seed``'s tight cut, or 0 for a loose mask."""
    tight, radius, _ = _draws(seed)
    return radius if _is_tight(tight, style) else 0.0


def loose_rim_mm(seed: int, style: BrainMaskStyle) -> float:
    """The CSF (mm) case ``seed``'s loose mask keeps beyond the template's brain, 0 for a
    tight one (whose cut would drop it)."""
    tight, _, rim = _draws(seed)
    return 0.0 if _is_tight(tight, style) else rim


def outer_csf(outside_mm: np.ndarray, rim_mm: float) -> np.ndarray:
    """Float32 CSF share, like ``outside_mm`` (distance in mm outside the template's brain, 0
    inside): 1 up to ``rim_mm`` out, a one-millimetre ramp past it, 0 inside the brain (whose
    own CSF the template holds). A rim of 0 adds nothing beyond the brain's outermost voxels."""
    share = np.clip(np.float32(rim_mm + 1.0) - outside_mm, 0.0, 1.0)
    share[outside_mm <= 0] = 0.0
    return share.astype(np.float32)


def tighten(
    image: np.ndarray, brain: np.ndarray, radius_mm: float, voxel_size_mm: float
) -> np.ndarray:
    """Boolean (X, Y, Z): ``brain`` cut at a smooth hull over the tissue.

    The tissue (``image`` >= ``CSF_LEVEL``; ``image`` noise-free, in units of WM, like
    ``brain``) is closed with ``radius_mm`` (in whole voxels, 18-connected steps) and its
    cavities filled: what lies outside that hull goes. Tissue is never removed; a radius of 0
    returns ``brain`` as it is, any other closes by at least one voxel.
    """
    if radius_mm <= 0 or not brain.any():
        return brain
    steps = max(1, int(round(radius_mm / voxel_size_mm)))
    # (the box's margin keeps the closing's erosion off the array border)
    box = brain_box(brain, steps + 2)
    inside = brain[box]
    tissue = inside & (image[box] >= CSF_LEVEL)
    reach = ndimage.generate_binary_structure(3, 2)
    hull = ndimage.binary_fill_holes(ndimage.binary_closing(tissue, reach, iterations=steps))
    out = np.zeros_like(brain)
    out[box] = inside & hull
    return out
