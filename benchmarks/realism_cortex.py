"""Cortical-ribbon rows of ``synth_realism.py``: how the cortex brightens and fades beside its
sulci. Split from ``synth_realism.py`` to keep each script short; run that one.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: Distances (mm) from the nearest CSF-dark voxel of the ``cortical_ribbon`` rows, the dark
#: threshold (x NAWM), the cortical band (mm below the brain's outline) they look in, and the
#: lowest MNI z voxel index counted (z = -2 mm: the cerebrum; the cerebellum's folia are GM
#: far from any dark voxel at 1 mm).
RIBBON_MM, RIBBON_DARK, RIBBON_BAND_MM, RIBBON_MIN_Z_INDEX = (1, 2, 3, 4), 0.6, (1.0, 15.0), 70


def cortical_ribbon(img: np.ndarray, lesions: np.ndarray) -> dict[str, float]:
    """Median intensity (``img`` in units of NAWM, (X, Y, Z) on the 1 mm MNI grid) of the
    non-lesion voxels 1, 2, 3 and 4 mm from the nearest CSF-dark voxel, within 1-15 mm of the
    brain's outline, above MNI z = -2 mm: ``ribbon_1mm`` ... A real sulcus goes from dark CSF
    straight to bright cortex (1 mm) and back to WM within ~3 mm; a blurred one reads darker at
    1 mm, a too-thick cortex brighter at 3-4 mm (round 24)."""
    brain = img > 0
    dark = brain & (img < RIBBON_DARK)
    outline = ndimage.distance_transform_edt(brain)
    lo, hi = RIBBON_BAND_MM
    band = brain & (outline > lo) & (outline < hi) & ~lesions
    band[:, :, :RIBBON_MIN_Z_INDEX] = False
    to_dark = ndimage.distance_transform_edt(~dark)
    out = {}
    for d in RIBBON_MM:
        shell = band & (np.abs(to_dark - d) <= 0.5)
        out[f"ribbon_{d}mm"] = float(np.median(img[shell])) if shell.any() else np.nan
    return out
