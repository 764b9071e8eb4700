"""Lesion rows of ``synth_realism.py``: counts, sizes, locations and shapes of the lesion masks.

Split from ``synth_realism.py`` (the image rows) to keep each script short; run that one.
"""

from __future__ import annotations

import cc3d
import numpy as np

from mslesion.metrics.lesion import lesion_shape, thin_share


def lesion_stats(
    mask: np.ndarray, at: dict[str, np.ndarray], large: list[LargeShape] | None = None
) -> dict[str, float]:
    """Per-case lesion counts, sizes, locations and shapes; appends the shape of each lesion
    >= 300 voxels to ``large`` if given (pooled over cases by :func:`pooled_large`)."""
    labels, n = cc3d.connected_components(mask > 0, connectivity=26, return_N=True)
    sizes = np.bincount(labels.ravel())[1:]
    total = max(int(mask.sum()), 1)
    out = {
        "count": float(n),
        "median_vox": float(np.median(sizes)) if n else 0.0,
        # the two tails of the size distribution: specks and large (often confluent) lesions
        "share_lt10_vox": float(np.mean(sizes < 10)) if n else np.nan,
        "p90_vox": float(np.percentile(sizes, 90)) if n else np.nan,
        "count_ge300_vox": float(np.sum(sizes >= 300)),
        "total_vox": float(mask.sum()),
    }
    for region in ("ventricles", "juxtacortical", "infratentorial"):
        out[f"share_{region}"] = float((mask.astype(bool) & at[region]).sum()) / total
    out.update(lesion_shapes(labels, large))
    return out


#: (voxels, elongation, fill, thin share) of one lesion >= 300 voxels.
LargeShape = tuple[int, float, float, float]


def lesion_shapes(labels: np.ndarray, large: list[LargeShape] | None = None) -> dict[str, float]:
    """Median :func:`mslesion.metrics.lesion.lesion_shape` (elongation, fill) of the lesions
    of 10-300 voxels and of those >= 300 voxels (``_large``; smaller ones are too few voxels
    to have a shape); the large ones' shapes and thin shares (``metrics.lesion.thin_share``)
    are also appended to ``large`` if given."""
    shapes: dict[str, list[float]] = {"": [], "_large": []}
    fills: dict[str, list[float]] = {"": [], "_large": []}
    for _label, lesion in cc3d.each(labels, binary=True, in_place=True):
        pts = np.argwhere(lesion)
        if len(pts) < 10:
            continue
        group = "" if len(pts) < 300 else "_large"
        elongation, fill = lesion_shape(pts)
        shapes[group].append(elongation)
        fills[group].append(fill)
        if group and large is not None:
            box = tuple(slice(lo, hi + 1) for lo, hi in zip(pts.min(0), pts.max(0), strict=True))
            large.append((len(pts), elongation, fill, thin_share(lesion[box])))
    out = {}
    for group in shapes:
        some = bool(shapes[group])
        out[f"lesion_elongation{group}"] = float(np.median(shapes[group])) if some else np.nan
        out[f"lesion_fill{group}"] = float(np.median(fills[group])) if some else np.nan
    return out


def pooled_large(large: list[LargeShape]) -> str:
    """ "elong E, fill F (n=N)": medians over every lesion >= 300 voxels of all cases
    (the per-case rows give each case one median, whatever its number of large lesions)."""
    if not large:
        return "none"
    e, f = np.median(np.asarray(large)[:, 1:3], axis=0)
    return f"elong {e:.2f}, fill {f:.2f} (n={len(large)})"


#: Size classes (voxels) of the thin-share row: focal, plaque- and mass-sized lesions.
THIN_SIZE_CLASSES = ((300, 1000), (1000, 5000), (5000, None))


def pooled_thin(large: list[LargeShape]) -> str:
    """Thin share (:func:`mslesion.metrics.lesion.thin_share`, parts under ~5 voxels across;
    real lesions >= 5,000 voxels 0.37, round 15's synthetic ones 0.51) pooled over every
    lesion's voxels in each of
    ``THIN_SIZE_CLASSES``, "A / B / C" (``-`` for an empty class)."""
    parts = []
    for lo, hi in THIN_SIZE_CLASSES:
        picked = [(n, t) for n, _e, _f, t in large if n >= lo and (hi is None or n < hi)]
        sizes = np.array([n for n, _ in picked], float)
        parts.append(f"{np.average([t for _, t in picked], weights=sizes):.2f}" if picked else "-")
    return " / ".join(parts)
