"""The MNI152 template shipped in the nilearn wheel, the model grid, and McDonald region maps.

Users do not have the project's ``shared/data/atlas`` folder, so everything here is derived
from the three maps that ship inside ``nilearn/datasets/data/`` (ICBM 2009a symmetric T1 and
grey/white-matter probability maps, 1 mm, 197x233x189, RAS, skull-stripped).

The *model grid* is the 182x218x182 1 mm MNI grid (LAS, the FSL MNI152 box) that all training
data of this project lives on; a checkpoint may ask for another voxel size over the same box
(:func:`model_grid`). All maps returned here are numpy arrays (X, Y, Z) on such a grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from scipy import ndimage

from mslesion.errors import InputError

TEMPLATE_FILES = {
    "t1": "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
    "gm": "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
    "wm": "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz",
}

#: The 182x218x182 1 mm MNI152 grid (FSL box, LAS) the training data uses.
MNI_SHAPE: tuple[int, int, int] = (182, 218, 182)
MNI_AFFINE = np.array(
    [[-1.0, 0.0, 0.0, 90.0], [0.0, 1.0, 0.0, -126.0], [0.0, 0.0, 1.0, -72.0], [0.0, 0.0, 0.0, 1.0]]
)

REGION_NAMES: dict[int, str] = {
    0: "outside_brain",
    1: "infratentorial",
    2: "periventricular",
    3: "juxtacortical",
    4: "deep_white_matter",
}


@dataclass(frozen=True)
class Grid:
    """A voxel grid: ``shape`` (X, Y, Z) voxels and ``affine`` (4x4 voxel -> RAS world mm)."""

    shape: tuple[int, int, int]
    affine: np.ndarray

    @property
    def spacing(self) -> tuple[float, float, float]:
        return tuple(float(v) for v in np.linalg.norm(self.affine[:3, :3], axis=0))  # type: ignore[return-value]

    def world_coords(self) -> np.ndarray:
        """World (RAS mm) coordinates of every voxel centre, shape (X, Y, Z, 3), float32."""
        idx = np.indices(self.shape, dtype=np.float32)
        return np.einsum(
            "ij,jxyz->xyzi", self.affine[:3, :3].astype(np.float32), idx
        ) + self.affine[:3, 3].astype(np.float32)


def model_grid(spacing_mm: float | tuple[float, float, float] = 1.0) -> Grid:
    """The MNI box at ``spacing_mm``: 182x218x182 at 1 mm, 91x109x91 at 2 mm.

    The box edges stay where the 1 mm grid's are, so grids of any spacing cover the same brain.
    """
    sp = np.broadcast_to(np.asarray(spacing_mm, dtype=float), (3,))
    if np.any(sp <= 0):
        raise ValueError(f"spacing must be positive, got {spacing_mm}")
    if np.allclose(sp, 1.0):
        return Grid(MNI_SHAPE, MNI_AFFINE.copy())
    shape = tuple(int(round(n / s)) for n, s in zip(MNI_SHAPE, sp, strict=True))
    affine = MNI_AFFINE.copy()
    direction = MNI_AFFINE[:3, :3]
    affine[:3, :3] = direction * sp
    # voxel 0's centre moves half a new voxel inwards from the 1 mm box corner
    affine[:3, 3] = MNI_AFFINE[:3, 3] + direction @ ((sp - 1.0) / 2.0)
    return Grid(shape, affine)  # type: ignore[arg-type]


def template_path(kind: str) -> Path:
    """Path of a nilearn-shipped template map (``"t1"``, ``"gm"`` or ``"wm"``)."""
    if kind not in TEMPLATE_FILES:
        raise ValueError(f"unknown template map {kind!r}; use one of {sorted(TEMPLATE_FILES)}")
    try:
        base = resources.files("nilearn.datasets") / "data"
    except ModuleNotFoundError as exc:  # pragma: no cover - nilearn is a dependency
        raise InputError(None, "nilearn is not installed; it ships the MNI152 template") from exc
    path = Path(str(base / TEMPLATE_FILES[kind]))
    if not path.is_file():
        raise InputError(path, "MNI152 template missing from the nilearn installation")
    return path


@lru_cache(maxsize=4)
def load_template_map(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """A nilearn template map as (float32 array (X, Y, Z) scaled to [0, 1], 4x4 affine)."""
    import nibabel as nib

    img = nib.load(str(template_path(kind)))
    data = np.asanyarray(img.dataobj).astype(np.float32) / 255.0
    return data, img.affine.copy()


def resample_to_grid(
    data: np.ndarray, affine: np.ndarray, grid: Grid, order: int = 1
) -> np.ndarray:
    """Resample ``data`` (X, Y, Z) with voxel->world ``affine`` onto ``grid``; outside is 0."""
    vox = np.linalg.inv(affine) @ grid.affine
    fast = _reindex(data, vox, grid.shape)
    if fast is not None:
        return fast
    out = ndimage.affine_transform(
        data,
        vox[:3, :3],
        vox[:3, 3],
        output_shape=grid.shape,
        order=order,
        mode="constant",
        cval=0.0,
    )
    return out.astype(np.float32)


def _reindex(data: np.ndarray, vox: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray | None:
    """Exact copy when ``vox`` only flips/shifts axes by whole voxels (template -> 1 mm MNI box).

    Interpolating would cost seconds for what is an array slice; None when not applicable.
    """
    lin, off = vox[:3, :3], vox[:3, 3]
    if not (np.allclose(np.abs(lin), np.eye(3)) and np.allclose(off, np.round(off))):
        return None
    out = np.zeros(shape, dtype=np.float32)
    src_sl, dst_sl = [], []
    for ax in range(3):
        step, start = int(round(lin[ax, ax])), int(round(off[ax]))
        idx = start + step * np.arange(shape[ax])  # source index of each output index
        ok = np.flatnonzero((idx >= 0) & (idx < data.shape[ax]))
        if ok.size == 0:
            return out
        dst_sl.append(slice(ok[0], ok[-1] + 1))
        src_sl.append(idx[ok[0] : ok[-1] + 1])
    out[tuple(dst_sl)] = data[np.ix_(*src_sl)]
    return out


@lru_cache(maxsize=4)
def _template_on_grid(kind: str, grid_key: tuple[float, float, float]) -> np.ndarray:
    data, affine = load_template_map(kind)
    return resample_to_grid(data, affine, model_grid(grid_key))


def template_on_grid(kind: str, spacing_mm: float | tuple[float, float, float] = 1.0) -> np.ndarray:
    """Template map ``kind`` resampled onto :func:`model_grid` (float32 in [0, 1]); cached."""
    key = tuple(float(v) for v in np.broadcast_to(np.asarray(spacing_mm, dtype=float), (3,)))
    out = _template_on_grid(kind, key)
    out.setflags(write=False)
    return out


def brain_mask_on_grid(spacing_mm: float | tuple[float, float, float] = 1.0) -> np.ndarray:
    """Template brain mask (GM + WM > 0.5, holes such as the ventricles filled), bool (X, Y, Z)."""
    tissue = template_on_grid("gm", spacing_mm) + template_on_grid("wm", spacing_mm)
    mask = ndimage.binary_closing(tissue > 0.5, iterations=2)
    return ndimage.binary_fill_holes(mask)


#: Bump when the region derivation changes, so stale cached maps are not reused.
REGION_CACHE_VERSION = 1


def default_cache_dir() -> Path:
    """``~/.cache/mslesion`` (shared with :mod:`mslesion.synth`'s prepared templates)."""
    return Path.home() / ".cache" / "mslesion"


def prune_old_versions(cache_dir: Path, prefix: str, current: int) -> list[Path]:
    """Delete ``{prefix}*_v{N}.npz`` files with ``N < current`` from ``cache_dir``: a cache
    whose version moved on is never read again, and a 1 mm synthesis template is ~350 MB.
    Newer versions stay (another install may share the folder). Best effort; returns the
    paths removed."""
    removed = []
    for path in sorted(cache_dir.glob(f"{prefix}*_v*.npz")):
        version = path.stem.rpartition("_v")[2]
        if version.isdigit() and int(version) < current:
            try:
                path.unlink()
            except OSError:
                continue
            removed.append(path)
    return removed


@lru_cache(maxsize=1)
def region_map(cache_dir: Path | None = None) -> np.ndarray:
    """McDonald location classes on the 1 mm model grid: uint8 (182, 218, 182).

    Values follow :data:`REGION_NAMES`. Priority when regions overlap: infratentorial, then
    periventricular, then juxtacortical; every other brain voxel is deep white matter.
    Deriving the map takes a few seconds, so it is kept in ``cache_dir`` (default
    :func:`default_cache_dir`) as a compressed .npz; an unreadable cache is rebuilt.
    """
    cache = (cache_dir or default_cache_dir()) / f"mcdonald_regions_v{REGION_CACHE_VERSION}.npz"
    try:
        with np.load(cache) as stored:
            regions = stored["regions"]
        if regions.shape == MNI_SHAPE and regions.dtype == np.uint8:
            regions.setflags(write=False)
            return regions
    except (OSError, ValueError, KeyError, EOFError):
        pass
    regions = derive_region_map()
    try:
        from mslesion.io.atomic import atomic_output

        with atomic_output(cache, overwrite=True) as tmp:
            np.savez_compressed(tmp, regions=regions)
    except OSError:  # read-only home: still works, just slower next time
        pass
    regions.setflags(write=False)
    return regions


def derive_region_map() -> np.ndarray:
    """Compute :func:`region_map` from the nilearn tissue maps (no cache)."""
    grid = model_grid(1.0)
    full_brain = brain_mask_on_grid()
    # work inside the brain's bounding box: distance transforms dominate the cost
    box = ndimage.find_objects(full_brain.astype(np.uint8))[0]
    box = tuple(slice(max(s.start - 4, 0), s.stop + 4) for s in box)
    gm, wm, brain = template_on_grid("gm")[box], template_on_grid("wm")[box], full_brain[box]
    world = grid.world_coords()[box]
    depth = ndimage.distance_transform_edt(brain)  # mm to the outside (1 mm grid)
    infra = _infratentorial(brain, world)
    ventricles = _lateral_ventricles(brain & (gm + wm < 0.5), depth, world)
    periventricular = brain & ndimage.binary_dilation(ventricles, _ball(3))
    cortex = (gm > 0.5) & (gm >= wm) & (depth <= 10)  # deep GM (thalamus, basal ganglia) excluded
    juxtacortical = brain & (wm > 0.3) & ndimage.binary_dilation(cortex, _ball(2))
    regions = np.zeros(grid.shape, dtype=np.uint8)
    sub = regions[box]
    sub[brain] = 4
    sub[juxtacortical] = 3
    sub[periventricular] = 2
    sub[infra] = 1
    return regions


def _ball(radius_vox: int) -> np.ndarray:
    r = np.arange(-radius_vox, radius_vox + 1)
    return (r[:, None, None] ** 2 + r[None, :, None] ** 2 + r[None, None, :] ** 2) <= radius_vox**2


def _lateral_ventricles(csf: np.ndarray, depth: np.ndarray, world: np.ndarray) -> np.ndarray:
    """CSF deep inside the brain hull near the centre: the lateral ventricles.

    The template has no CSF map, so ``csf`` is what the filled brain hull holds besides GM/WM;
    ``depth`` is the distance (mm) to the hull's outside.
    """
    x, y, z = world[..., 0], world[..., 1], world[..., 2]
    central = (np.abs(x) < 35) & (y > -50) & (y < 40) & (z > -5) & (z < 35)
    candidates = csf & central & (depth > 12)
    labels, n = ndimage.label(candidates)
    if n == 0:
        return candidates
    sizes = ndimage.sum(candidates, labels, index=np.arange(1, n + 1))
    keep = np.argsort(sizes)[::-1][:2] + 1  # left and right lateral ventricles
    return np.isin(labels, keep)


# Tentorium height and lateral extent (MNI mm) as a function of y, read off the extent of the
# CSIM infratentorial atlas: the cerebellum tops out near z=0 mid-way and slopes down
# posteriorly; anterior of y=-20 only the brainstem (|x| < ~15) is below the tentorium.
_TENT_Y = np.array([-100.0, -80.0, -70.0, -60.0, -50.0, -30.0, -20.0, -10.0, 0.0, 5.0])
_TENT_Z = np.array([-28.0, -25.0, -16.0, -6.0, -2.0, 0.0, -4.0, -9.0, -12.0, -100.0])
_TENT_X = np.array([40.0, 44.0, 48.0, 50.0, 51.0, 41.0, 28.0, 15.0, 12.0, 0.0])


def _infratentorial(brain: np.ndarray, world: np.ndarray) -> np.ndarray:
    x, y, z = world[..., 0], world[..., 1], world[..., 2]
    z_top = np.interp(y, _TENT_Y, _TENT_Z, left=-28.0, right=-100.0)
    x_max = np.interp(y, _TENT_Y, _TENT_X, left=40.0, right=0.0)
    return brain & (z <= z_top) & (np.abs(x) <= x_max)


def region_names() -> dict[int, str]:
    return dict(REGION_NAMES)
