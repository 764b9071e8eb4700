"""Per-lesion table (id, volume, centroid, probability, McDonald location) and case totals."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cc3d
import numpy as np

from mslesion.io.atomic import write_text_atomic
from mslesion.metrics.lesion import label_lesions
from mslesion.preprocess import templates

LESION_COLUMNS: tuple[str, ...] = (
    "lesion_id", "volume_mm3", "n_voxels",
    "centroid_i", "centroid_j", "centroid_k",
    "centroid_x_mm", "centroid_y_mm", "centroid_z_mm",
    "max_prob", "mean_prob", "location", "confidence",
)  # fmt: skip

#: Maps native voxel indices (N, 3) to region codes of :data:`templates.REGION_NAMES` (N,).
RegionLookup = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class LesionRow:
    """One lesion. Centroid in voxel indices (i, j, k) of the scan and in world RAS mm."""

    lesion_id: int
    volume_mm3: float
    n_voxels: int
    centroid_i: float
    centroid_j: float
    centroid_k: float
    centroid_x_mm: float
    centroid_y_mm: float
    centroid_z_mm: float
    max_prob: float
    mean_prob: float
    location: str
    confidence: float | None = None


def mni_region_lookup(native_affine: np.ndarray, model_to_native: np.ndarray) -> RegionLookup:
    """Lookup through native voxel -> native mm -> MNI mm -> 1 mm region map (nearest voxel)."""
    vox = np.linalg.inv(templates.MNI_AFFINE) @ np.linalg.inv(model_to_native) @ native_affine

    def lookup(ijk: np.ndarray) -> np.ndarray:
        regions = templates.region_map()
        idx = np.rint(ijk @ vox[:3, :3].T + vox[:3, 3]).astype(int)
        inside = np.all((idx >= 0) & (idx < np.array(regions.shape)), axis=1)
        out = np.zeros(len(idx), dtype=np.uint8)
        out[inside] = regions[tuple(idx[inside].T)]
        return out

    return lookup


def classify_location(codes: np.ndarray, centroid_code: int) -> str:
    """McDonald class of one lesion from the region codes of its voxels.

    Infratentorial when its centroid is; else periventricular if it touches the
    periventricular band; else juxtacortical if it touches the juxtacortical band; else deep
    white matter. Lesions wholly outside the template brain are "unknown".
    """
    if centroid_code == 1:
        return "infratentorial"
    if np.any(codes == 2):
        return "periventricular"
    if np.any(codes == 3):
        return "juxtacortical"
    if np.any(codes > 0):
        return "deep_white_matter"
    return "unknown"


def lesion_table(
    mask: np.ndarray,
    prob: np.ndarray,
    affine: np.ndarray,
    *,
    region_lookup: RegionLookup | None = None,
    confidence: Callable[[np.ndarray, int], np.ndarray] | None = None,
) -> list[LesionRow]:
    """One row per 26-connected lesion of ``mask`` (X, Y, Z), largest first.

    ``prob``: float (X, Y, Z) on the same grid. ``affine``: voxel -> world mm (volumes use its
    determinant, so anisotropic voxels count correctly). ``confidence(labels, n)`` returns one
    value per lesion (see :func:`mslesion.infer.uncertainty.lesion_confidence`).
    """
    labels, n = label_lesions(mask)
    if n == 0:
        return []
    voxel_mm3 = float(abs(np.linalg.det(affine[:3, :3])))
    conf = confidence(labels, n) if confidence is not None else None
    stats = cc3d.statistics(labels)
    rows = []
    for lid in range(1, n + 1):
        bbox = stats["bounding_boxes"][lid]
        sub = labels[bbox] == lid
        ijk = np.argwhere(sub) + np.array([s.start for s in bbox])
        p = prob[bbox][sub]
        centroid = ijk.mean(axis=0)
        world = affine[:3, :3] @ centroid + affine[:3, 3]
        if region_lookup is None:
            location = "unknown"
        else:
            codes = region_lookup(ijk.astype(float))
            location = classify_location(codes, int(region_lookup(centroid[None])[0]))
        rows.append(
            LesionRow(
                lesion_id=0,
                volume_mm3=round(len(ijk) * voxel_mm3, 3),
                n_voxels=len(ijk),
                centroid_i=round(float(centroid[0]), 2),
                centroid_j=round(float(centroid[1]), 2),
                centroid_k=round(float(centroid[2]), 2),
                centroid_x_mm=round(float(world[0]), 2),
                centroid_y_mm=round(float(world[1]), 2),
                centroid_z_mm=round(float(world[2]), 2),
                max_prob=round(float(p.max()), 4),
                mean_prob=round(float(p.mean()), 4),
                location=location,
                confidence=None if conf is None else round(float(conf[lid - 1]), 4),
            )
        )
    rows.sort(key=lambda r: (-r.n_voxels, r.centroid_i, r.centroid_j, r.centroid_k))
    return [LesionRow(**{**asdict(r), "lesion_id": i}) for i, r in enumerate(rows, start=1)]


def summarize(rows: list[LesionRow]) -> dict[str, float | int]:
    """Case totals: lesion count and total volume (mm³)."""
    return {
        "lesion_count": len(rows),
        "total_volume_mm3": round(sum(r.volume_mm3 for r in rows), 3),
    }


def lesion_csv_text(rows: list[LesionRow]) -> str:
    """CSV text with :data:`LESION_COLUMNS` (empty confidence when not computed)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(LESION_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in asdict(row).items()})
    return buf.getvalue()


def write_lesion_csv(path: str | Path, rows: list[LesionRow], overwrite: bool = False) -> Path:
    return write_text_atomic(path, lesion_csv_text(rows), overwrite)
