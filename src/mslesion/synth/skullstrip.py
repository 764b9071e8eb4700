"""Where each synthetic case's brain mask is cut: loose (the CSF round the brain kept) or tight.

Skull-stripping tools differ in where they cut. Some keep the CSF between the brain and the
skull (the MSLesSeg scans here: a dark rim round the cortex, 74-97 % of the mask's outermost
voxels CSF-dark, < 0.5 x NAWM), others cut close to the pial surface (the open_ms_data scans:
61-72 % dark there, the rest bright cortex that meets the black background directly). Users
bring both kinds, so the generator draws both: a tight case keeps only what lies under a smooth
hull over the tissue (the tissue closed over gaps of a few millimetres, its cavities filled), so
the CSF round the brain goes while the ventricles and the sulci the hull bridges stay, as under
the smooth surface a skull-stripping tool fits.

The draw comes from its own random stream (seeded by the case's seed), so adding it left every
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
#: Tells the mask style's random stream from the case's main one.
_STREAM = 20


def cut_radius_mm(seed: int, style: BrainMaskStyle) -> float:
    """The closing radius (mm) of case ``seed``'s tight cut, or 0 for a loose mask. Both draws
    are made whatever ``style`` says, so a seed's tight radius is the same in "mixed" and
    "tight"."""
    rng = np.random.default_rng((int(seed), _STREAM))
    tight = bool(rng.random() < TIGHT_SHARE)
    radius = float(rng.uniform(*TIGHT_RADIUS_MM))
    if style == "loose" or (style == "mixed" and not tight):
        return 0.0
    return radius


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
