"""Invertible spatial steps: reorient to RAS, resample to a spacing, crop/pad to a box.

Each step returns the new array, its 4x4 affine (voxel -> RAS+ mm) and a frozen, JSON-ready
record whose ``apply`` repeats the step on another array of the input grid (e.g. a lesion mask)
and whose ``invert`` maps an array of the output grid back onto the input grid. Arrays are
(X, Y, Z) in voxel order throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

import nibabel as nib
import numpy as np

Shape3 = tuple[int, int, int]


def _shape3(values: object) -> Shape3:
    return tuple(int(v) for v in values)  # type: ignore[return-value,attr-defined]


def _affine(values: object) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(4, 4)


def spacing_of(affine: np.ndarray) -> tuple[float, float, float]:
    """Voxel size in mm along the array axes (column norms of the affine)."""
    return tuple(float(v) for v in np.linalg.norm(np.asarray(affine)[:3, :3], axis=0))  # type: ignore[return-value]


def axcodes_of(affine: np.ndarray) -> str:
    """Orientation letters, e.g. ``"LAS"``: the direction each voxel axis increases towards."""
    return "".join(nib.orientations.aff2axcodes(np.asarray(affine)))


# ----------------------------------------------------------------------------- reorientation


@dataclass(frozen=True)
class ReorientRecord:
    """Axis permutation and flips taking the native grid to RAS (exact: no interpolation).

    ``ornt`` is nibabel's (3, 2) orientation transform ``[[new_axis, flip], ...]``.
    """

    in_shape: Shape3
    in_affine: tuple[float, ...]
    ornt: tuple[tuple[int, int], ...]

    def apply(self, data: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(nib.orientations.apply_orientation(data, np.asarray(self.ornt)))

    def invert(self, data: np.ndarray) -> np.ndarray:
        # Input axis i went to output axis ornt[i][0] (flipped or not): swap the roles.
        inverse = np.zeros((3, 2))
        for axis, (new_axis, flip) in enumerate(self.ornt):
            inverse[new_axis] = (axis, flip)
        return np.ascontiguousarray(nib.orientations.apply_orientation(data, inverse))

    def to_dict(self) -> dict[str, object]:
        return {
            "in_shape": list(self.in_shape),
            "in_affine": list(self.in_affine),
            "ornt": [list(r) for r in self.ornt],
        }

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> ReorientRecord:
        ornt = tuple((int(a), int(f)) for a, f in d["ornt"])  # type: ignore[attr-defined]
        return cls(_shape3(d["in_shape"]), tuple(float(v) for v in d["in_affine"]), ornt)  # type: ignore[attr-defined]


def reorient_to_ras(
    data: np.ndarray, affine: np.ndarray
) -> tuple[np.ndarray, np.ndarray, ReorientRecord]:
    """Permute/flip axes so they increase towards Right, Anterior, Superior.

    nibabel's orientation tools are used rather than SimpleITK's DICOMOrient because they act on
    the numpy array directly and are exactly invertible (pure index permutations).
    Returns (array (X', Y', Z'), affine of that array, record).
    """
    affine = np.asarray(affine, dtype=np.float64)
    ornt = nib.orientations.io_orientation(affine)
    record = ReorientRecord(
        in_shape=_shape3(data.shape),
        in_affine=tuple(float(v) for v in affine.ravel()),
        ornt=tuple((int(a), int(f)) for a, f in ornt),
    )
    out = record.apply(data)
    new_affine = affine @ nib.orientations.inv_ornt_aff(ornt, data.shape)
    return out, new_affine, record


# ----------------------------------------------------------------------------- resampling


_INTERPOLATORS = ("linear", "bspline", "nearest")


def _sitk_image(data: np.ndarray, affine: np.ndarray):  # -> sitk.Image
    """numpy (X, Y, Z) + RAS affine -> SimpleITK image (ITK's physical space is LPS)."""
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(np.ascontiguousarray(data.transpose(2, 1, 0)))
    lps = np.diag([-1.0, -1.0, 1.0]) @ affine[:3, :]
    spacing = np.linalg.norm(lps[:, :3], axis=0)
    image.SetSpacing([float(s) for s in spacing])
    image.SetDirection([float(v) for v in (lps[:, :3] / spacing).ravel()])
    image.SetOrigin([float(v) for v in lps[:, 3]])
    return image


def _sitk_interpolator(name: str) -> int:
    import SimpleITK as sitk

    table = {
        "linear": sitk.sitkLinear,
        "bspline": sitk.sitkBSpline,
        "nearest": sitk.sitkNearestNeighbor,
    }
    if name not in table:
        raise ValueError(f"unknown interpolation {name!r} (use one of {', '.join(_INTERPOLATORS)})")
    return table[name]


def resample_onto(
    data: np.ndarray,
    affine: np.ndarray,
    out_shape: Shape3,
    out_affine: np.ndarray,
    interpolation: str,
) -> np.ndarray:
    """Resample ``data`` (X, Y, Z) on ``affine`` onto the grid (``out_shape``, ``out_affine``).

    Voxels outside the input field of view become 0. Masks (``interpolation="nearest"``) keep
    their dtype; images come back as float32.
    """
    import SimpleITK as sitk

    is_nearest = interpolation == "nearest"
    if data.dtype == bool:  # SimpleITK has no boolean pixel type
        data = data.astype(np.uint8)
    src = data if is_nearest else data.astype(np.float32, copy=False)
    image = _sitk_image(src, affine)
    reference = _sitk_image(np.zeros(out_shape, dtype=np.uint8), out_affine)
    out = sitk.Resample(
        image,
        reference,
        sitk.Transform(),
        _sitk_interpolator(interpolation),
        0.0,
        image.GetPixelID(),
    )
    array = sitk.GetArrayFromImage(out).transpose(2, 1, 0)
    return np.ascontiguousarray(array.astype(data.dtype if is_nearest else np.float32, copy=False))


@dataclass(frozen=True)
class ResampleRecord:
    """A resampling from one grid (shape + affine) to another; ``invert`` resamples back."""

    in_shape: Shape3
    in_affine: tuple[float, ...]
    out_shape: Shape3
    out_affine: tuple[float, ...]
    interpolation: str

    def apply(self, data: np.ndarray, is_mask: bool = False) -> np.ndarray:
        method = "nearest" if is_mask else self.interpolation
        return resample_onto(
            data, _affine(self.in_affine), self.out_shape, _affine(self.out_affine), method
        )

    def invert(self, data: np.ndarray, is_mask: bool = False) -> np.ndarray:
        # Back to native with linear (not B-spline): maps such as probabilities must stay in range.
        method = "nearest" if is_mask else "linear"
        return resample_onto(
            data, _affine(self.out_affine), self.in_shape, _affine(self.in_affine), method
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "in_shape": list(self.in_shape),
            "in_affine": list(self.in_affine),
            "out_shape": list(self.out_shape),
            "out_affine": list(self.out_affine),
            "interpolation": self.interpolation,
        }

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> ResampleRecord:
        return cls(
            _shape3(d["in_shape"]),
            tuple(float(v) for v in d["in_affine"]),  # type: ignore[attr-defined]
            _shape3(d["out_shape"]),
            tuple(float(v) for v in d["out_affine"]),  # type: ignore[attr-defined]
            str(d["interpolation"]),
        )


def target_grid(
    shape: Shape3, affine: np.ndarray, spacing: tuple[float, float, float]
) -> tuple[Shape3, np.ndarray]:
    """The grid covering the same field of view as (shape, affine) at ``spacing`` mm.

    The new voxel count per axis is ``round(n * old / new)`` and the field of view's outer corner
    stays put, so integer ratios (3 mm -> 1 mm) nest exactly and nearest-neighbour round trips
    are lossless. Directions are kept.
    """
    affine = np.asarray(affine, dtype=np.float64)
    old = np.asarray(spacing_of(affine))
    new = np.asarray(spacing, dtype=np.float64)
    out_shape = _shape3(np.maximum(1, np.round(np.asarray(shape) * old / new)))
    direction = affine[:3, :3] / old
    corner = affine[:3, 3] - direction @ (old / 2)  # outer corner of voxel 0
    out_affine = np.eye(4)
    out_affine[:3, :3] = direction * new
    out_affine[:3, 3] = corner + direction @ (new / 2)
    return out_shape, out_affine


def resample_to_spacing(
    data: np.ndarray,
    affine: np.ndarray,
    spacing: tuple[float, float, float],
    interpolation: str = "linear",
) -> tuple[np.ndarray, np.ndarray, ResampleRecord]:
    """Resample (X, Y, Z) ``data`` to ``spacing`` mm with SimpleITK -> (array, affine, record)."""
    _sitk_interpolator(interpolation)  # fail early on a bad name
    out_shape, out_affine = target_grid(_shape3(data.shape), affine, spacing)
    record = ResampleRecord(
        in_shape=_shape3(data.shape),
        in_affine=tuple(float(v) for v in np.asarray(affine, dtype=np.float64).ravel()),
        out_shape=out_shape,
        out_affine=tuple(float(v) for v in out_affine.ravel()),
        interpolation=interpolation,
    )
    return record.apply(data, is_mask=interpolation == "nearest"), out_affine, record


# ----------------------------------------------------------------------------- crop / pad


@dataclass(frozen=True)
class CropRecord:
    """Output voxel ``i`` is input voxel ``start + i`` along each axis (outside the input: padding).

    ``start`` may be negative and ``start + out_shape`` may exceed ``in_shape``: that is padding.
    """

    in_shape: Shape3
    start: Shape3
    out_shape: Shape3

    def _windows(self) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
        src, dst = [], []
        for n_in, s, n_out in zip(self.in_shape, self.start, self.out_shape, strict=True):
            lo, hi = max(s, 0), min(s + n_out, n_in)
            src.append(slice(lo, max(hi, lo)))
            dst.append(slice(lo - s, max(hi, lo) - s))
        return tuple(src), tuple(dst)

    def apply(self, data: np.ndarray, fill: float = 0.0) -> np.ndarray:
        # Plain numpy slicing: the copy between overlapping windows is the whole operation, and
        # it is exactly invertible (MONAI/SimpleITK crop+pad would need two records for one step).
        src, dst = self._windows()
        out = np.full(self.out_shape, fill, dtype=data.dtype)
        out[dst] = data[src]
        return out

    def invert(self, data: np.ndarray, fill: float = 0.0) -> np.ndarray:
        src, dst = self._windows()
        out = np.full(self.in_shape, fill, dtype=data.dtype)
        out[src] = data[dst]
        return out

    def affine_after(self, affine: np.ndarray) -> np.ndarray:
        shift = np.eye(4)
        shift[:3, 3] = self.start
        return np.asarray(affine, dtype=np.float64) @ shift

    def to_dict(self) -> dict[str, object]:
        return {
            "in_shape": list(self.in_shape),
            "start": list(self.start),
            "out_shape": list(self.out_shape),
        }

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> CropRecord:
        return cls(_shape3(d["in_shape"]), _shape3(d["start"]), _shape3(d["out_shape"]))


def bounding_box(mask: np.ndarray) -> tuple[Shape3, Shape3]:
    """(first, last + 1) voxel indices of the non-zero region of an (X, Y, Z) mask."""
    if not np.any(mask):
        raise ValueError("cannot crop to an empty mask")
    lo, hi = [], []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        hits = np.flatnonzero(np.any(mask, axis=other))
        lo.append(int(hits[0]))
        hi.append(int(hits[-1]) + 1)
    return _shape3(lo), _shape3(hi)


def crop_to_mask(mask: np.ndarray, margin: int = 8) -> CropRecord:
    """Crop to the mask's bounding box plus ``margin`` voxels per side (clipped to the volume)."""
    lo, hi = bounding_box(mask)
    start = [max(0, a - margin) for a in lo]
    stop = [min(n, b + margin) for n, b in zip(mask.shape, hi, strict=True)]
    return CropRecord(_shape3(mask.shape), _shape3(start), _shape3(np.subtract(stop, start)))


def crop_to_shape(
    in_shape: Shape3, out_shape: Shape3, mask: np.ndarray | None = None
) -> CropRecord:
    """A fixed ``out_shape`` box centred on the mask's bounding box (or the volume), padded."""
    if mask is not None and np.any(mask):
        lo, hi = bounding_box(mask)
        centre = (np.asarray(lo) + np.asarray(hi)) / 2
    else:
        centre = np.asarray(in_shape) / 2
    start = np.floor(centre - np.asarray(out_shape) / 2).astype(int)
    # Where the box fits, keep it inside the volume rather than padding one side needlessly.
    room = np.asarray(in_shape) - np.asarray(out_shape)
    start = np.where(room >= 0, np.clip(start, 0, np.maximum(room, 0)), start)
    return CropRecord(_shape3(in_shape), _shape3(start), _shape3(out_shape))
