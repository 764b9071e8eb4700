"""Cortical-ribbon rows of ``synth_realism.py``: how the cortex brightens and fades beside its
sulci. Split from ``synth_realism.py`` to keep each script short; run that one.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from mslesion.synth.normal import mm_grid

#: Distances (mm) from the nearest CSF-dark voxel of the ``cortical_ribbon`` rows, the dark
#: threshold (x NAWM) and the cortical band (mm below the brain's outline) they look in.
RIBBON_MM, RIBBON_DARK, RIBBON_BAND_MM = (1, 2, 3, 4), 0.6, (1.0, 15.0)


def cortical_ribbon(img: np.ndarray, counted: np.ndarray) -> dict[str, float]:
    """Median intensity (``img`` in units of NAWM, (X, Y, Z) on the 1 mm MNI grid) of the
    ``counted`` voxels 1, 2, 3 and 4 mm from the nearest CSF-dark voxel, within 1-15 mm of the
    brain's outline: ``ribbon_1mm`` ... ``synth_realism.py`` counts the cerebrum above MNI z =
    -2 mm outside the lesions (the cerebellum's folia are GM far from any dark voxel at 1 mm).
    A real sulcus goes from dark CSF straight to bright cortex (1 mm) and back to WM within
    ~3 mm; a blurred one reads darker at 1 mm, a too-thick cortex brighter at 3-4 mm
    (round 24)."""
    brain = img > 0
    dark = brain & (img < RIBBON_DARK)
    outline = ndimage.distance_transform_edt(brain)
    lo, hi = RIBBON_BAND_MM
    band = brain & (outline > lo) & (outline < hi) & counted
    to_dark = ndimage.distance_transform_edt(~dark)
    out = {}
    for d in RIBBON_MM:
        shell = band & (np.abs(to_dark - d) <= 0.5)
        out[f"ribbon_{d}mm"] = float(np.median(img[shell])) if shell.any() else np.nan
    return out


#: The medial cortex above the corpus callosum that ``medial_dark`` reads: (|x|, y, z) ranges
#: in MNI mm (2 mm clear of the falx), and how far (voxels) the ventricles are kept off it.
MEDIAL_BOX_MM, MEDIAL_VENTRICLE_MARGIN = ((2.0, 12.0), (-40.0, 40.0), (20.0, 55.0)), 3


def medial_box(shape: tuple[int, int, int], affine: np.ndarray) -> np.ndarray:
    """Bool (X, Y, Z) on a grid with a diagonal ``affine``: :data:`MEDIAL_BOX_MM`."""
    x, y, z = mm_grid(shape, affine)
    (x0, x1), (y0, y1), (z0, z1) = MEDIAL_BOX_MM
    inside = ((np.abs(x) >= x0) & (np.abs(x) <= x1)) & ((y >= y0) & (y <= y1))
    return np.broadcast_to(inside & ((z >= z0) & (z <= z1)), shape).copy()


def medial_dark(img: np.ndarray, medial: np.ndarray, ventricles: np.ndarray) -> dict[str, float]:
    """``medial_dark``: the CSF-dark share (< ``RIBBON_DARK``; ``img`` in units of NAWM) of the
    ``medial`` voxels (:func:`medial_box`, fitted to the scan, lesions left out) more than
    :data:`MEDIAL_VENTRICLE_MARGIN` voxels from the ``ventricles``. The real scans read a thin
    falx with a few thin sulci beside it; round 26's cases a dark ladder or band there
    (round 27)."""
    near = ndimage.binary_dilation(ventricles, iterations=MEDIAL_VENTRICLE_MARGIN)
    counted = medial & (img > 0) & ~near
    share = float(np.mean(img[counted] < RIBBON_DARK)) if counted.any() else np.nan
    return {"medial_dark": share}
