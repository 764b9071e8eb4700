"""Deep grey nuclei on FLAIR: dimmer than the cortex, the globus pallidus darker than the WM.

The template's GM map does not tell the cortex from the basal ganglia and thalami, so until
round 17 they were rendered at the cortical GM level (1.38-1.55 x WM). At the cores of the
ellipsoids below (the real scans are registered to MNI, so their nuclei lie there too) the
real scans read thalamus 1.02, caudate head 1.11, putamen 1.07, pallidum 0.82 x NAWM (medians
of 6), round 16's undeformed cases 1.23, 1.36, 1.20, 0.98 (one-off scripts; the benchmark's
``deep_*`` rows since). On real FLAIR the deep nuclei are about as bright as the WM or a
little brighter, and the globus pallidus is darker than it (its iron).

The nuclei are hand-written ellipsoids in MNI mm, like the rest of the template's hand-placed
anatomy (``normal.py``); no atlas in the nilearn wheel labels them. Only the GM inside them is
re-levelled (:func:`mslesion.synth.flair.tissue_image`), so where an ellipsoid reaches into the
internal capsule or the ventricles nothing changes there; the pallidum, which the template
holds as WM, is darkened as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mslesion.synth.normal import mm_grid

#: Each nucleus as an ellipsoid in MNI mm, mirrored on both hemispheres: centre (|x|, y, z),
#: semi-axes (across, along, up) and the yaw (degrees) of its long axis from the y axis, + when
#: its back end lies more lateral (thalamus, putamen), fitted by eye to the template's GM map;
#: and the share of the case's dimming (``flair.Contrast.deep_grey_dim``) its GM takes, tuned on
#: the cores of 8 undeformed cases (one-off scripts): the putamen read 1.14 x NAWM with 0.5 and
#: 1.09 with 0.7 (real 1.07), the caudate head 1.07 with 1 and 1.11 with 0.85 (real 1.11).
NUCLEI_MM = {
    "thalamus": ((11.0, -17.0, 7.0), (7.5, 14.0, 10.0), 20.0, 1.0),
    "caudate head": ((12.0, 13.0, 8.0), (6.0, 9.0, 10.0), 0.0, 0.85),
    "caudate body": ((15.0, -4.0, 19.0), (4.5, 13.0, 5.5), 10.0, 0.85),
    "putamen": ((25.0, 3.0, 1.0), (5.5, 16.0, 10.0), 15.0, 0.7),
    "pallidum": ((18.0, -4.0, -1.0), (4.0, 7.5, 5.0), 15.0, 1.0),
}
#: Normalised ellipsoid radii between which a nucleus' weight falls from 1 to 0 (smoothstep):
#: a soft edge of ~1-5 mm, so the level never steps inside the GM.
EDGE = (0.85, 1.2)
#: MNI mm box (|x|, y, z) that holds every nucleus with its soft edge; the weights are stored
#: on it only (~0.3 M voxels at 1 mm instead of 7.2 M).
BOX_MM = ((0.0, 40.0), (-45.0, 30.0), (-15.0, 35.0))


@dataclass(frozen=True)
class DeepGrey:
    """Weights of the deep grey nuclei on one grid, stored on a box of it.

    Attributes:
        box: (X, Y, Z) slices of the grid that hold every weight > 0.
        grey: float32 [0, 1] on the box: how much of the case's dimming the GM takes there
            (``NUCLEI_MM``'s shares: thalami and pallidum 1, caudate 0.85, putamen 0.7), towards
            the WM level
            (:func:`mslesion.synth.flair.tissue_image`).
        pallidum: float32 [0, 1] on the box: the globus pallidus, darkened as a whole.
    """

    box: tuple[slice, slice, slice]
    grey: np.ndarray
    pallidum: np.ndarray


def ellipsoid_radius(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    centre: tuple[float, float, float],
    semi_axes: tuple[float, float, float],
    yaw_deg: float,
) -> np.ndarray:
    """Normalised radius (1 on the surface) of a yawed ellipsoid mirrored on |x| (mm grids)."""
    t = np.deg2rad(yaw_deg)
    dx, dy, dz = np.abs(x) - centre[0], y - centre[1], z - centre[2]
    across = dx * np.cos(t) + dy * np.sin(t)
    along = dy * np.cos(t) - dx * np.sin(t)
    r2 = (across / semi_axes[0]) ** 2 + (along / semi_axes[1]) ** 2 + (dz / semi_axes[2]) ** 2
    return np.sqrt(r2).astype(np.float32)


def _box_slices(shape: tuple[int, int, int], affine: np.ndarray) -> tuple[slice, slice, slice]:
    """Index slices of a grid with a diagonal ``affine`` that cover :data:`BOX_MM`."""
    slices = []
    for axis, (lo, hi) in enumerate(BOX_MM):
        mm = affine[axis, axis] * np.arange(shape[axis]) + affine[axis, 3]
        if axis == 0:  # (|x|: the box spans both hemispheres)
            mm = np.abs(mm)
        inside = np.flatnonzero((mm >= lo) & (mm <= hi))
        slices.append(slice(int(inside[0]), int(inside[-1]) + 1))
    return slices[0], slices[1], slices[2]


def deep_grey_weights(shape: tuple[int, int, int], affine: np.ndarray) -> DeepGrey:
    """The deep grey nuclei of :data:`NUCLEI_MM` on a grid (``shape``, diagonal ``affine``)."""
    box = _box_slices(shape, affine)
    origin = affine[:3, 3] + np.diag(affine)[:3] * np.array([s.start for s in box])
    sub = np.eye(4)
    sub[:3, :3], sub[:3, 3] = affine[:3, :3], origin
    x, y, z = mm_grid(tuple(s.stop - s.start for s in box), sub)  # type: ignore[arg-type]
    lo, hi = EDGE
    weights = {}
    for name, (centre, semi_axes, yaw, _) in NUCLEI_MM.items():
        t = np.clip((hi - ellipsoid_radius(x, y, z, centre, semi_axes, yaw)) / (hi - lo), 0, 1)
        weights[name] = (t * t * (3 - 2 * t)).astype(np.float32)
    grey = np.maximum.reduce([w * np.float32(NUCLEI_MM[k][3]) for k, w in weights.items()])
    return DeepGrey(box=box, grey=grey, pallidum=weights["pallidum"])
