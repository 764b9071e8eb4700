"""Anatomy from the real MS scans of the shared data, with their own lesions filled in.

Each real FLAIR (already on the 1 mm MNI grid) has its expert-marked lesions (dilated by one
voxel) replaced by the surrounding normal-appearing white matter: a normalised-convolution
average of nearby NAWM plus NAWM-like noise, so synthetic lesions are the only lesions in the
truth. Intensities are divided by the median NAWM (WM = 1, like the MNI anatomy).
"""

from __future__ import annotations

import functools
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from mslesion.errors import InputError
from mslesion.paths import require_shared_data
from mslesion.synth.anatomy import MNI_SHAPE_1MM, mni_grid, mni_template
from mslesion.synth.fields import masked_gaussian


def real_scans(root: Path) -> list[tuple[Path, Path]]:
    """(FLAIR, lesion mask) pairs under ``root/real`` (MSLesSeg and open_ms_data layouts)."""
    pairs = [
        (f, Path(str(f).replace("_FLAIR", "_MASK")))
        for f in sorted((root / "real").rglob("*_FLAIR.nii.gz"))
    ]
    for f in sorted((root / "real").rglob("FLAIR_*regtoMNI.nii.gz")):
        masks = sorted(f.parent.glob("GOLD_STANDARD*.nii.gz"))
        if masks:
            pairs.append((f, masks[0]))
    return [(f, m) for f, m in pairs if m.exists()]


def fill_lesions(
    image: np.ndarray, lesions: np.ndarray, wm: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Replace ``lesions`` (bool (X, Y, Z), dilated by 1 voxel) with local NAWM intensity + noise.

    ``wm`` is a bool map of white matter; the local NAWM level is a Gaussian-weighted average
    over NAWM voxels only (normalised convolution, sigma 4 mm), widened until every hole is covered.
    """
    holes = ndimage.binary_dilation(lesions, iterations=1)
    nawm = wm & ~holes & (image > 0)
    level = np.zeros(image.shape, np.float32)
    todo = holes.copy()
    for sigma in (4.0, 8.0, 16.0, 32.0):
        mean, weight = masked_gaussian(image, nawm, sigma)
        ok = todo & (weight > 1e-3)
        level[ok] = mean[ok]
        todo &= ~ok
        if not todo.any():
            break
    spread = float(np.std(image[nawm])) * 0.5 if nawm.any() else 0.0
    out = image.astype(np.float32).copy()
    out[holes] = level[holes] + rng.standard_normal(int(holes.sum())).astype(np.float32) * spread
    out[holes & (image <= 0)] = 0
    return out


@functools.lru_cache(maxsize=8)
def _prepared(flair: str, mask: str, voxel_size_mm: float) -> tuple[np.ndarray, np.ndarray]:
    image = np.asarray(nib.load(flair).dataobj, dtype=np.float32)
    lesions = np.asarray(nib.load(mask).dataobj) > 0
    if image.shape != MNI_SHAPE_1MM:
        raise InputError(flair, f"expected the 1 mm MNI grid {MNI_SHAPE_1MM}, got {image.shape}")
    tpl = mni_template(1.0)
    wm = tpl.wm > 0.9
    filled = fill_lesions(image, lesions, wm, np.random.default_rng(0))
    brain = filled > 0
    filled /= float(np.median(filled[wm & brain]))
    if voxel_size_mm != 1.0:
        shape, affine = mni_grid(voxel_size_mm)
        matrix = np.linalg.inv(tpl.affine) @ affine
        sigma = 0.42 * (voxel_size_mm - 1.0)
        filled = ndimage.affine_transform(
            ndimage.gaussian_filter(filled, sigma),
            matrix[:3, :3],
            matrix[:3, 3],
            output_shape=shape,
            order=1,
        )
        brain = (
            ndimage.affine_transform(
                brain.astype(np.float32), matrix[:3, :3], matrix[:3, 3], output_shape=shape, order=1
            )
            > 0.5
        )
    return filled.astype(np.float32), brain


def real_anatomy(
    rng: np.random.Generator, voxel_size_mm: float, data_root: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A random lesion-filled real FLAIR (float32, NAWM = 1) and its brain mask (bool), (X,Y,Z)."""
    root = require_shared_data(data_root)
    scans = real_scans(root)
    if not scans:
        raise InputError(
            root / "real", "no real FLAIR scans with lesion masks found (needed for --anatomy real)"
        )
    flair, mask = scans[int(rng.integers(len(scans)))]
    return _prepared(str(flair), str(mask), float(voxel_size_mm))
