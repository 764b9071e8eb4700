"""Paper-style figures: FLAIR | truth | prediction triptychs and Dice vs lesion load.

- :func:`plot_triptych`: axial, coronal and sagittal rows of FLAIR, FLAIR + truth and
  FLAIR + prediction (the layout of F.sh's Fig. 2).
- :func:`plot_dice_vs_load`: per-case Dice against log10 total lesion volume with a least
  squares trend line per method (SynergyNet's Fig. 2).

Figures are drawn on a bare :class:`matplotlib.figure.Figure` with the Agg canvas, so no
pyplot state or global backend is touched, and are written atomically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mslesion.io.atomic import atomic_output
from mslesion.io.nifti import NiftiVolume

if TYPE_CHECKING:  # matplotlib is imported lazily, inside the plotting functions
    from matplotlib.figure import Figure

VIEWS = ("axial", "coronal", "sagittal")
# Axis of the (RAS) array each view slices through: axial fixes Z, coronal Y, sagittal X.
_VIEW_AXIS = {"axial": 2, "coronal": 1, "sagittal": 0}
TRUTH_COLOR = (0.1, 0.85, 0.2)
PRED_COLOR = (0.95, 0.15, 0.1)


def _unpack(vol: np.ndarray | NiftiVolume) -> tuple[np.ndarray, np.ndarray | None]:
    if isinstance(vol, NiftiVolume):
        return vol.data, vol.affine
    return np.asarray(vol), None


def _to_ras(
    arrays: list[np.ndarray], affine: np.ndarray | None
) -> tuple[list[np.ndarray], tuple[float, ...]]:
    """Reorient (X, Y, Z) arrays to the closest RAS axes so views look anatomical."""
    if affine is None:
        return arrays, (1.0, 1.0, 1.0)
    import nibabel as nib

    ornt = nib.orientations.io_orientation(affine)
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    ras_spacing = tuple(float(spacing[int(np.flatnonzero(ornt[:, 0] == ax)[0])]) for ax in range(3))
    return [nib.orientations.apply_orientation(a, ornt) for a in arrays], ras_spacing


def default_slices(truth: np.ndarray, pred: np.ndarray) -> tuple[int, int, int]:
    """(x, y, z): per axis, the slice with most truth voxels (else prediction, else centre)."""
    out = []
    for axis in range(3):
        others = tuple(a for a in range(3) if a != axis)
        for mask in (truth, pred):
            counts = (np.asarray(mask) > 0).sum(axis=others)
            if counts.any():
                out.append(int(np.argmax(counts)))
                break
        else:
            out.append(truth.shape[axis] // 2)
    return out[0], out[1], out[2]


def _take(vol: np.ndarray, view: str, index: int) -> np.ndarray:
    # Transposed so the first in-plane RAS axis runs left-right and the second bottom-top.
    return np.take(vol, index, axis=_VIEW_AXIS[view]).T


def _window(flair: np.ndarray) -> tuple[float, float]:
    fg = flair[flair > 0]
    if fg.size == 0:
        return float(flair.min()), float(flair.max()) or 1.0
    lo, hi = np.percentile(fg, [1.0, 99.5])
    return float(lo), float(hi if hi > lo else lo + 1.0)


def _overlay(
    mask: np.ndarray, color: tuple[float, float, float], alpha: float = 0.55
) -> np.ndarray:
    rgba = np.zeros((*mask.shape, 4), dtype=np.float32)
    rgba[mask > 0] = (*color, alpha)
    return rgba


def _save(fig: Figure, out_png: str | Path, overwrite: bool) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    with atomic_output(out_png, overwrite) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return Path(out_png)


def plot_triptych(
    flair: np.ndarray | NiftiVolume,
    truth: np.ndarray | NiftiVolume,
    pred: np.ndarray | NiftiVolume,
    out_png: str | Path,
    title: str | None = None,
    slices: Sequence[int] | None = None,
    overwrite: bool = False,
    *,
    affine: np.ndarray | None = None,
) -> Path:
    """Save a 3x3 figure: rows axial / coronal / sagittal, columns FLAIR | truth | prediction.

    Args:
        flair, truth, pred: (X, Y, Z) arrays on one grid, or :class:`NiftiVolume` (whose
            affine is then used to show the views in RAS orientation with true aspect).
        out_png: output path (written atomically; refuses to overwrite unless asked).
        title: figure title.
        slices: (x, y, z) voxel indices in the *input* array; default: the slices with most
            truth voxels (prediction if the truth is empty).
        affine: 4x4 voxel-to-world matrix when plain arrays are given.
    """
    from matplotlib.figure import Figure

    (f, aff_f), (t, _), (p, _) = _unpack(flair), _unpack(truth), _unpack(pred)
    if not f.shape == t.shape == p.shape:
        raise ValueError(f"shapes differ: flair {f.shape}, truth {t.shape}, pred {p.shape}")
    aff = affine if affine is not None else aff_f
    if slices is not None:
        # Mark the requested voxel so its position survives the reorientation.
        marker = np.zeros(f.shape, dtype=bool)
        marker[tuple(int(s) for s in slices)] = True
        (f, t, p, marker), spacing = _to_ras([f, t, p, marker], aff)
        idx = tuple(int(i[0]) for i in np.nonzero(marker))
    else:
        (f, t, p), spacing = _to_ras([f, t, p], aff)
        idx = default_slices(t, p)
    vmin, vmax = _window(f)

    fig = Figure(figsize=(9, 9.4), facecolor="black")
    axes = fig.subplots(3, 3)
    for row, view in enumerate(VIEWS):
        axis = _VIEW_AXIS[view]
        in_plane = [spacing[a] for a in range(3) if a != axis]
        aspect = in_plane[1] / in_plane[0]
        base = _take(f, view, idx[axis])
        for col, (mask, color, label) in enumerate(
            ((None, None, "FLAIR"), (t, TRUTH_COLOR, "truth"), (p, PRED_COLOR, "prediction"))
        ):
            ax = axes[row, col]
            ax.imshow(base, cmap="gray", vmin=vmin, vmax=vmax, origin="lower", aspect=aspect)
            if mask is not None:
                ax.imshow(
                    _overlay(_take(mask, view, idx[axis]), color), origin="lower", aspect=aspect
                )
            ax.set_axis_off()
            if row == 0:
                ax.set_title(label, color="white")
        axes[row, 0].text(
            -0.04,
            0.5,
            f"{view} {idx[axis]}",
            color="white",
            rotation=90,
            va="center",
            ha="right",
            transform=axes[row, 0].transAxes,
        )
    if title:
        fig.suptitle(title, color="white")
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.01, top=0.93, wspace=0.02, hspace=0.04)
    return _save(fig, out_png, overwrite)


def trend_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    """Least-squares (slope, intercept) of y on x, or None with < 2 distinct x values."""
    if np.unique(x).size < 2:
        return None
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)


def plot_dice_vs_load(
    points: Mapping[str, Sequence[tuple[float, float]]],
    out_png: str | Path,
    overwrite: bool = False,
    title: str | None = None,
    y_label: str = "Dice",
) -> Path:
    """Scatter of per-case score against log10 total truth lesion volume, one colour and
    trend line per method (SynergyNet Fig. 2).

    Args:
        points: method name -> [(truth lesion volume in mm^3, score), ...]. Cases with zero
            volume (log undefined) or a NaN score are left out.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.6))
    ax = fig.subplots()
    for i, (method, pairs) in enumerate(points.items()):
        arr = np.asarray(list(pairs), dtype=float).reshape(-1, 2)
        arr = arr[(arr[:, 0] > 0) & np.isfinite(arr[:, 1])]
        x, y = np.log10(arr[:, 0]), arr[:, 1]
        color = f"C{i % 10}"
        ax.scatter(x, y, s=22, color=color, alpha=0.8, label=f"{method} (n={x.size})")
        fit = trend_line(x, y)
        if fit is not None:
            xs = np.linspace(x.min(), x.max(), 50)
            ax.plot(xs, fit[0] * xs + fit[1], color=color, lw=1.6)
    ax.set_xlabel("log10 total lesion volume (mm³)")
    ax.set_ylabel(y_label)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return _save(fig, out_png, overwrite)
