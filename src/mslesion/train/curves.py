"""A run's ``metrics.csv`` (a row per epoch) and its curves (F.sh Fig. 3 losses, Fig. 4 metrics)."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from mslesion.io.atomic import atomic_output, write_text_atomic

LOSS_SERIES = (("loss", "total (BCE+Dice)"), ("bce", "BCE"), ("dice_loss", "Dice loss"))
METRIC_SERIES = (
    "val_dice",
    "val_sensitivity",
    "val_specificity",
    "val_precision",
    "val_accuracy",
    "val_lesion_tpr",
    "val_lesion_fpr",
)


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys, restval="")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buf.getvalue(), overwrite=True)


def read_metrics(path: str | Path) -> dict[str, list[float]]:
    """Columns of ``metrics.csv`` as float lists (empty cells -> NaN)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return {}

    def num(text: str) -> float:
        try:
            return float(text)
        except (TypeError, ValueError):
            return math.nan

    return {k: [num(r.get(k, "")) for r in rows] for k in rows[0]}


def _finite(epochs: list[float], values: list[float] | None) -> tuple[list[float], list[float]]:
    """The (epoch, value) pairs with a value: with validation every k epochs, lines then join
    the validated epochs instead of breaking at every NaN."""
    pairs = [(e, v) for e, v in zip(epochs, values or [], strict=False) if not math.isnan(v)]
    return [e for e, _ in pairs], [v for _, v in pairs]


def plot_curves(
    metrics_csv: str | Path, loss_png: str | Path, metrics_png: str | Path
) -> tuple[Path, Path]:
    """Write the two PNGs (overwriting: they are redrawn every epoch)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = read_metrics(metrics_csv)
    epochs = [e + 1 for e in cols.get("epoch", [])]

    fig, axes = plt.subplots(
        1, len(LOSS_SERIES), figsize=(4.2 * len(LOSS_SERIES), 3.4), squeeze=False
    )
    for ax, (key, title) in zip(axes[0], LOSS_SERIES, strict=True):
        for split, style in (("train", "-o"), ("val", "-s")):
            xs, ys = _finite(epochs, cols.get(f"{split}_{key}"))
            if ys:
                ax.plot(xs, ys, style, ms=3, label=split)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Training and validation loss")
    fig.tight_layout()
    _save(fig, loss_png)

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for key in METRIC_SERIES:
        xs, ys = _finite(epochs, cols.get(key))
        if ys:
            ax.plot(xs, ys, "-o", ms=3, label=key.removeprefix("val_"))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation value")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, ncol=2)
    else:
        ax.text(0.5, 0.5, "no validation yet", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("Validation metrics")
    fig.tight_layout()
    _save(fig, metrics_png)
    plt.close("all")
    return Path(loss_png), Path(metrics_png)


def _save(fig, path: str | Path) -> None:  # matplotlib Figure
    with atomic_output(path, overwrite=True) as tmp:
        fig.savefig(tmp, dpi=110)
