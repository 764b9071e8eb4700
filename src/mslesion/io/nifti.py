"""Load, validate and save NIfTI volumes with nibabel.

Every problem with an input file is raised as :class:`~mslesion.errors.InputError` whose
message names the file and the problem in one line. Writes are atomic (see
:mod:`mslesion.io.atomic`) and keep the affine, qform/sform codes and units.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from mslesion.errors import InputError
from mslesion.io.atomic import atomic_output

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def is_nifti_path(path: str | Path) -> bool:
    """True when the file name ends in ``.nii`` or ``.nii.gz``."""
    return str(path).lower().endswith(NIFTI_SUFFIXES)


def strip_nifti_suffix(name: str) -> str:
    """``"case001_FLAIR.nii.gz" -> "case001_FLAIR"``."""
    lower = name.lower()
    for suffix in (".nii.gz", ".nii"):
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class NiftiVolume:
    """A 3D volume with its geometry.

    Attributes:
        data: array of shape (X, Y, Z) in the file's voxel order (float32 for images,
            uint8 for masks).
        affine: 4x4 voxel-to-world (RAS+, mm) matrix.
        header: the source header (kept so saves reproduce codes and units).
        path: where it was read from, if anywhere.
    """

    data: np.ndarray
    affine: np.ndarray
    header: nib.Nifti1Header
    path: Path | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.data.shape[:3])  # type: ignore[return-value]

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm along the array axes, from the affine's column norms."""
        return tuple(float(v) for v in np.linalg.norm(self.affine[:3, :3], axis=0))  # type: ignore[return-value]

    @property
    def voxel_volume_mm3(self) -> float:
        return float(abs(np.linalg.det(self.affine[:3, :3])))

    def with_data(self, data: np.ndarray) -> NiftiVolume:
        """Same grid, new voxel values."""
        if data.shape[:3] != self.data.shape[:3]:
            raise ValueError(f"shape {data.shape} does not match grid {self.data.shape}")
        return NiftiVolume(data=data, affine=self.affine, header=self.header, path=self.path)


def _read(path: Path) -> nib.Nifti1Image:
    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_dir():
        raise InputError(path, "is a folder, not a NIfTI file")
    if path.stat().st_size == 0:
        raise InputError(path, "file is empty")
    if not is_nifti_path(path):
        raise InputError(path, "not a NIfTI file (expected .nii or .nii.gz)")
    try:
        img = nib.load(str(path))
    except nib.filebasedimages.ImageFileError as exc:
        raise InputError(path, f"not a readable NIfTI file ({_short(exc, path)})") from exc
    except (EOFError, OSError, zlib.error, gzip.BadGzipFile, ValueError) as exc:
        raise InputError(path, f"corrupt or truncated file ({_short(exc, path)})") from exc
    if not isinstance(img, nib.Nifti1Image | nib.Nifti2Image):
        raise InputError(path, f"not a NIfTI image (read as {type(img).__name__})")
    return img


def _short(exc: BaseException, path: Path | None = None) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if path is not None:  # the message already starts with the path: do not repeat it
        text = text.replace(f"File {path} ", "").replace(str(path), path.name)
    return text[:120]


def _as_3d(path: Path, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """Return the 3D shape to reshape to (None: already 3D), or raise for other ranks."""
    spatial = shape[:3]
    extra = int(np.prod(shape[3:])) if len(shape) > 3 else 1
    if len(spatial) < 3 or min(spatial) < 2:
        n_dims = sum(s > 1 for s in spatial)
        raise InputError(path, f"is {n_dims}D (shape {_fmt(shape)}); a 3D volume is needed")
    if extra > 1:
        raise InputError(
            path, f"is 4D with {extra} volumes (shape {_fmt(shape)}); give one 3D volume"
        )
    return spatial if len(shape) > 3 else None


def _fmt(shape: tuple[int, ...]) -> str:
    return "x".join(str(s) for s in shape)


def _check_affine(path: Path, affine: np.ndarray) -> None:
    if not np.all(np.isfinite(affine)):
        raise InputError(path, "affine contains NaN or Inf")
    det = float(np.linalg.det(affine[:3, :3]))
    if not np.isfinite(det) or abs(det) < 1e-8:
        raise InputError(path, "affine is singular (zero voxel size or collapsed axes)")


def load_volume(path: str | Path, *, allow_all_zero: bool = False) -> NiftiVolume:
    """Load and validate a 3D NIfTI image as float32.

    Raises:
        InputError: missing/empty/corrupt/non-NIfTI file, not 3D (a 4D file with one volume
            is accepted), NaN/Inf voxels, singular or non-finite affine, or an all-zero image
            (unless ``allow_all_zero``).
    """
    path = Path(path)
    img = _read(path)
    target_shape = _as_3d(path, tuple(int(s) for s in img.shape))
    _check_affine(path, img.affine)
    try:
        data = np.asanyarray(img.dataobj, dtype=np.float32)
    except (EOFError, OSError, zlib.error, ValueError) as exc:
        raise InputError(path, f"corrupt or truncated file ({_short(exc, path)})") from exc
    if target_shape is not None:
        data = data.reshape(target_shape)
    if not np.all(np.isfinite(data)):
        n_bad = int(np.size(data) - np.count_nonzero(np.isfinite(data)))
        raise InputError(path, f"contains {n_bad} NaN or Inf voxels")
    if not allow_all_zero and not np.any(data):
        raise InputError(path, "image is all zeros")
    return NiftiVolume(
        data=np.ascontiguousarray(data),
        affine=img.affine.copy(),
        header=img.header.copy(),
        path=path,
    )


def load_mask(path: str | Path, reference: NiftiVolume | None = None) -> NiftiVolume:
    """Load a binary mask (any value > 0 is foreground) as uint8.

    An all-zero mask is valid (a scan without lesions). With ``reference``, the mask must lie
    on the same grid (shape and affine) as that image.
    """
    vol = load_volume(path, allow_all_zero=True)
    mask = NiftiVolume(
        data=(vol.data > 0.5).astype(np.uint8), affine=vol.affine, header=vol.header, path=vol.path
    )
    if reference is not None:
        check_same_grid(reference, mask)
    return mask


def check_same_grid(a: NiftiVolume, b: NiftiVolume, *, atol: float = 1e-3) -> None:
    """Raise :class:`InputError` (naming ``b``'s file) if the two volumes' grids differ."""
    if a.shape != b.shape:
        raise InputError(
            b.path,
            f"grid differs from {a.path.name if a.path else 'the image'}: "
            f"shape {_fmt(b.shape)} vs {_fmt(a.shape)}",
        )
    if not np.allclose(a.affine, b.affine, atol=atol):
        raise InputError(
            b.path,
            f"grid differs from {a.path.name if a.path else 'the image'}: affines do not match",
        )


def _header_for(
    data: np.ndarray, affine: np.ndarray, reference: nib.Nifti1Header | None
) -> nib.Nifti1Header:
    header = reference.copy() if reference is not None else nib.Nifti1Header()
    if not isinstance(header, nib.Nifti1Header):
        header = nib.Nifti1Header.from_header(header)
    header.set_data_dtype(data.dtype)
    header.set_data_shape(data.shape)
    # Scaling from the source would rescale our uint8/float32 values: drop it.
    header["scl_slope"] = np.nan
    header["scl_inter"] = np.nan
    if reference is None:
        header.set_xyzt_units("mm", "sec")
    return header


def save_volume(
    path: str | Path,
    data: np.ndarray,
    affine: np.ndarray,
    *,
    reference: NiftiVolume | nib.Nifti1Header | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``data`` (X, Y, Z) atomically as NIfTI, keeping ``reference``'s codes and units."""
    path = Path(path)
    if not is_nifti_path(path):
        raise InputError(path, "output name must end in .nii or .nii.gz")
    ref_header = reference.header if isinstance(reference, NiftiVolume) else reference
    header = _header_for(data, affine, ref_header)
    img = nib.Nifti1Image(data, affine, header=header)
    if ref_header is not None:
        qcode = int(ref_header["qform_code"]) or 1
        scode = int(ref_header["sform_code"]) or 1
    else:
        qcode = scode = 1
    img.set_qform(affine, code=qcode)
    img.set_sform(affine, code=scode)
    with atomic_output(path, overwrite) as tmp:
        nib.save(img, str(tmp))
    return path


def save_mask(path: str | Path, mask: np.ndarray, affine: np.ndarray, **kwargs: object) -> Path:
    """Save a binary mask as uint8 (values 0/1)."""
    return save_volume(path, (np.asarray(mask) > 0).astype(np.uint8), affine, **kwargs)  # type: ignore[arg-type]


def save_probability(
    path: str | Path, prob: np.ndarray, affine: np.ndarray, **kwargs: object
) -> Path:
    """Save a probability map as float32 in [0, 1]."""
    return save_volume(
        path, np.clip(np.asarray(prob, dtype=np.float32), 0.0, 1.0), affine, **kwargs
    )  # type: ignore[arg-type]
