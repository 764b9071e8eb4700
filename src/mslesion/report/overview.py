"""Overview PNG: axial, coronal and sagittal slices through the largest lesions, mask outlined.

Volumes are first reordered to the closest RAS axes (nibabel, no interpolation) so that the
three panels are true axial/coronal/sagittal views whatever the acquisition orientation;
anisotropic voxels are shown with their physical aspect ratio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mslesion.io.atomic import atomic_output


def to_ras_axes(data: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(data reordered/flipped to the closest RAS axes, voxel sizes in mm along those axes)."""
    import nibabel as nib

    ornt = nib.orientations.io_orientation(affine)
    out = nib.orientations.apply_orientation(data, ornt)
    spacing = np.linalg.norm(affine[:3, :3], axis=0)[ornt[:, 0].astype(int).argsort()]
    return out, spacing


def slice_points(mask: np.ndarray, n: int) -> list[tuple[int, int, int]]:
    """Centroid voxels of the ``n`` largest lesions of ``mask``; the volume centre if none."""
    from mslesion.metrics.lesion import label_lesions

    labels, count = label_lesions(mask)
    if count == 0:
        return [tuple(int(s // 2) for s in mask.shape)]  # type: ignore[list-item]
    sizes = np.bincount(labels.ravel())[1:]
    points = []
    for lid in np.argsort(sizes)[::-1][:n] + 1:
        centroid = np.argwhere(labels == lid).mean(axis=0)
        points.append(tuple(int(round(c)) for c in centroid))
    return points  # type: ignore[return-value]


def write_overview(
    path: str | Path,
    flair: np.ndarray,
    mask: np.ndarray,
    affine: np.ndarray,
    *,
    n_lesions: int = 2,
    title: str = "",
    overwrite: bool = False,
) -> Path:
    """Render (see :func:`render_overview`) and write the PNG atomically."""
    data = render_overview(flair, mask, affine, n_lesions=n_lesions, title=title)
    with atomic_output(path, overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def render_overview(
    flair: np.ndarray, mask: np.ndarray, affine: np.ndarray, *, n_lesions: int = 2, title: str = ""
) -> bytes:
    """PNG bytes with one row (axial, coronal, sagittal) per largest lesion (at most ``n_lesions``).

    ``flair`` float (X, Y, Z), ``mask`` uint8 (X, Y, Z) on the grid ``affine``. Rendered in
    memory so that callers can write all of a case's outputs only once all are computed.
    """
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img, sp = to_ras_axes(flair, affine)
    msk, _ = to_ras_axes(mask.astype(np.uint8), affine)
    lo, hi = np.percentile(img[img > 0], (1, 99.5)) if np.any(img > 0) else (0.0, 1.0)
    points = slice_points(msk, n_lesions)
    fig, axes = plt.subplots(len(points), 3, figsize=(9, 3.2 * len(points)), squeeze=False)
    views = (("axial", 2, (0, 1)), ("coronal", 1, (0, 2)), ("sagittal", 0, (1, 2)))
    for row, point in enumerate(points):
        for col, (name, axis, (a, b)) in enumerate(views):
            ax = axes[row, col]
            sl = [slice(None)] * 3
            sl[axis] = point[axis]
            ax.imshow(
                img[tuple(sl)].T,
                cmap="gray",
                origin="lower",
                vmin=lo,
                vmax=hi,
                aspect=sp[b] / sp[a],
            )
            m = msk[tuple(sl)].T
            if m.any():
                ax.contour(m, levels=[0.5], colors="red", linewidths=0.8)
            ax.set_title(f"{name} {point[axis]}", fontsize=8)
            ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()
