"""Real lesion shapes from the CSIM lesion library, placed at their real MNI locations.

``lesion_library/labels-database/<bin>/<n>.nii.gz`` holds 2,229 real lesions, each in a full
1 mm MNI volume (~0.2 s to read). The first use crops every lesion to its bounding box and
keeps the crops as one ``.npz`` in the user cache (about 8 min once; then ~0.1 s to load).
A lesion is placed at its own location plus a small shift, accepted with probability
``prior / max(prior)`` of the 46-patient lesion prior, and clipped to allowed white matter.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from mslesion.errors import InputError
from mslesion.paths import require_shared_data
from mslesion.synth.anatomy import MNI_AFFINE_1MM, ZONES, default_cache_dir, mni_grid
from mslesion.synth.config import LESION_COUNTS, SynthConfig
from mslesion.synth.fields import lookup
from mslesion.synth.lesions import LesionCanvas, PlacementContext, draw_contrast, paint, rim_alpha

_VERSION = 1


@dataclass(frozen=True)
class LesionLibrary:
    """All crops packed together: ``bits`` (packed uint8) and a table of int64 rows
    (bit offset, size x, y, z, corner x, y, z in 1 mm MNI voxels, voxel count)."""

    bits: np.ndarray
    table: np.ndarray

    def __len__(self) -> int:
        return len(self.table)

    def crop(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Bool crop (sx, sy, sz) of lesion ``i`` and its corner (3,) in 1 mm MNI voxels."""
        off, sx, sy, sz, cx, cy, cz, _ = (int(v) for v in self.table[i])
        n = sx * sy * sz
        flat = np.unpackbits(self.bits[off // 8 : (off + n + 7) // 8 + 1])[:n]
        return flat.reshape(sx, sy, sz).astype(bool), np.array([cx, cy, cz])


def library_files(root: Path) -> list[Path]:
    folder = root / "lesion_library" / "labels-database"
    files = sorted(folder.rglob("*.nii.gz"))
    if not files:
        raise InputError(folder, "no lesion files found (needed for --lesions library)")
    return files


def build_library(files: list[Path]) -> LesionLibrary:
    """Crop each file's lesion voxels to their bounding box (slow: reads every full volume)."""
    chunks, rows, offset = [], [], 0
    for path in files:
        data = np.asarray(nib.load(str(path)).dataobj) > 0
        box = ndimage.find_objects(data.astype(np.uint8))
        if not box or box[0] is None:
            continue
        crop = data[box[0]]
        packed = np.packbits(crop.ravel())
        corner = [s.start for s in box[0]]
        rows.append([offset, *crop.shape, *corner, int(crop.sum())])
        chunks.append(packed)
        offset += packed.size * 8
    bits = np.concatenate(chunks) if chunks else np.zeros(0, np.uint8)
    return LesionLibrary(bits=bits, table=np.asarray(rows, dtype=np.int64).reshape(-1, 8))


@functools.lru_cache(maxsize=2)
def load_library(data_root: str | None = None, cache_file: str | None = None) -> LesionLibrary:
    """The library's crops, from ``cache_file`` (default: user cache) or built and cached."""
    root = require_shared_data(data_root)
    cache = (
        Path(cache_file)
        if cache_file
        else default_cache_dir() / f"lesion_library_crops_v{_VERSION}.npz"
    )
    try:
        with np.load(cache) as z:
            return LesionLibrary(bits=z["bits"], table=z["table"])
    except (OSError, KeyError, ValueError):
        pass
    lib = build_library(library_files(root))
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, bits=lib.bits, table=lib.table)
    except OSError:
        pass
    return lib


@functools.lru_cache(maxsize=4)
def lesion_prior(data_root: str | None, voxel_size_mm: float) -> np.ndarray:
    """The 46-patient lesion probability map on the MNI grid at ``voxel_size_mm`` (float32)."""
    path = (
        require_shared_data(data_root)
        / "atlas"
        / "MNI152_1mm"
        / "MS_lesion_prior_46patients.nii.gz"
    )
    if not path.exists():
        raise InputError(path, "lesion prior not found (needed for --lesions library)")
    prior = np.asarray(nib.load(str(path)).dataobj, dtype=np.float32)
    if voxel_size_mm != 1.0:
        shape, affine = mni_grid(voxel_size_mm)
        m = np.linalg.inv(MNI_AFFINE_1MM) @ affine
        prior = ndimage.affine_transform(prior, m[:3, :3], m[:3, 3], output_shape=shape, order=1)
    return prior / max(float(prior.max()), 1e-6)


def _to_grid(
    crop: np.ndarray, corner: np.ndarray, voxel_size_mm: float
) -> tuple[np.ndarray, np.ndarray]:
    """Resample a 1 mm crop onto the ``voxel_size_mm`` grid: (bool crop, corner in its voxels)."""
    if voxel_size_mm == 1.0:
        return crop, corner
    _, affine = mni_grid(voxel_size_mm)
    to_out = np.linalg.inv(affine) @ MNI_AFFINE_1MM
    zoomed = ndimage.zoom(crop.astype(np.float32), 1.0 / voxel_size_mm, order=1) > 0.3
    if not zoomed.any():  # tiny lesion: keep one voxel at its centre
        zoomed = np.ones((1, 1, 1), bool)
    # both grids are LAS: the map is a positive scaling + shift, so the low corner stays low
    corner_out = to_out[:3, :3] @ corner + to_out[:3, 3]
    return zoomed, np.rint(corner_out).astype(int)


def place_library(
    ctx: PlacementContext, canvas: LesionCanvas, config: SynthConfig, rng: np.random.Generator
) -> None:
    """Paint real lesion shapes near their real locations (count from ``config.lesion_load``)."""
    lib = load_library(config.data_root)
    prior = lesion_prior(config.data_root, ctx.voxel_size_mm)
    lo, hi = LESION_COUNTS[config.lesion_load]
    # favour small lesions (the library starts at 50 voxels, real loads are mostly small)
    weights = 1.0 / np.asarray(lib.table[:, 7], dtype=np.float64) ** 0.7
    weights /= weights.sum()
    shape = np.array(ctx.allowed.shape)
    for _ in range(int(rng.integers(lo, hi + 1))):
        for _attempt in range(10):
            crop, corner = _to_grid(
                *lib.crop(int(rng.choice(len(lib), p=weights))), ctx.voxel_size_mm
            )
            corner = corner + rng.integers(-4, 5, size=3) // max(1, int(ctx.voxel_size_mm))
            centre = np.clip(corner + np.array(crop.shape) // 2, 0, shape - 1)
            if rng.random() > prior[tuple(centre)]:
                continue
            lo_c = np.maximum(corner, 0)
            hi_c = np.minimum(corner + np.array(crop.shape), shape)
            if np.any(hi_c <= lo_c):
                continue
            sl = tuple(slice(int(a), int(b)) for a, b in zip(lo_c, hi_c, strict=True))
            sub = crop[
                tuple(
                    slice(int(a - c), int(b - c))
                    for a, b, c in zip(lo_c, hi_c, corner, strict=True)
                )
            ]
            shape_mask = sub & ctx.allowed[sl]
            if shape_mask.sum() < 0.5 * sub.sum():
                continue
            zone = int(lookup(ctx.template.zones, ctx.coords[tuple(centre)][None], order=0)[0])
            alpha = rim_alpha(shape_mask, rim_vox=max(1.0, 2.5 / ctx.voxel_size_mm))
            record = {
                "zone": ZONES.get(zone, "deep_wm"),
                "shape": "library",
                "contrast": draw_contrast(rng),
            }
            paint(canvas, sl, alpha, record)
            break
