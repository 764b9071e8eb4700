"""Machine observer: can a small CNN tell synthetic FLAIR patches from real ones?

A classifier two-sample test for issue #3's "could a person tell them apart at a glance": a
small 2D CNN learns real vs synthetic on 32x32 mm patches (axial, coronal, sagittal) of the
real scans in ``../shared/data/real`` and of ``--n`` synthetic cases, with a real patient
never on both sides: 4 folds, each holding out one real patient and a quarter of the synthetic
cases. The area under the ROC curve on the held-out patches reads 0.5 where the two cannot be
told apart and 1.0 where every patch gives itself away; it is printed pooled, per fold, per
acquisition (2D / 3D scans against the synthetic cases drawn as such), per slice orientation,
per depth below the brain's filled outline (also within the 2D and the 3D folds apart) and on
and off the midline, as the mean over ``--repeats`` draws of patches and
observers (the 3D folds, one real scan each, move by up to ~0.1 between draws). The PNG shows
the first draw's held-out patches the observer was surest about (synthetic ones it called
synthetic: the tells; real ones it called real) and its worst mistakes (synthetic patches it
took for real).

    MSLESION_DATA=../shared/data python benchmarks/realism_observer.py --n 8 --png observer.png
    (~75 s per repeat on 2 CPU cores; 3 repeats by default)

Every scan is divided by its brain median first, so a global intensity scale is no tell. The
observer sees patches, not whole slices: it reads texture, edges, local contrast and the local
shape of sulci and lesions, not the layout of a whole brain.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage, stats
from torch import nn

PATCH = 32  # mm (1 mm grid): about a gyrus and its neighbours
DEPTH_BANDS_MM = ((0, 8), (8, 20), (20, 200))  # cortex and outer CSF / subcortical / deep
#: Closing (voxels) of the brain mask whose filled outline the depth is measured below: the
#: real 3D scans' masks cut CSF out of the sulci and ventricles (zeros inside the brain,
#: 3,000-8,000 enclosed voxels and more open to the outside), and measured below the mask
#: itself none of their voxels lay more than 20 mm deep (1-11 % more than 12 mm), so every
#: real 3D patch fell in the shallowest band (round 37).
OUTLINE_CLOSING_VOX = 4
#: Patches centred within this many mm of the MNI midline (x = 0) count as midline patches.
MIDLINE_MM = 10.0
ORIENTATIONS = ("sagittal", "coronal", "axial")  # the array axis the patch is cut across


@dataclass(frozen=True)
class Patches:
    """Patches of several scans: ``images`` (N, PATCH, PATCH) float32 (scan / brain median),
    and per patch its scan index, orientation (0-2: the axis cut across), depth below the
    brain's filled outline (mm, :func:`outline_depth_mm`) and MNI x of its centre (mm; the
    scans lie on the MNI 1 mm grid)."""

    images: np.ndarray
    scan: np.ndarray
    orientation: np.ndarray
    depth_mm: np.ndarray
    x_mm: np.ndarray


def outline_depth_mm(brain: np.ndarray) -> np.ndarray:
    """Float (X, Y, Z): distance (mm, 1 mm grid) below the outline of ``brain`` (bool) closed
    by ``OUTLINE_CLOSING_VOX`` voxels and its cavities filled, so CSF a mask cut out of the
    sulci or ventricles does not count as outside."""
    pad = OUTLINE_CLOSING_VOX + 1
    padded = np.pad(brain, pad)
    hull = ndimage.binary_closing(padded, iterations=OUTLINE_CLOSING_VOX)
    hull = ndimage.binary_fill_holes(hull)[pad:-pad, pad:-pad, pad:-pad]
    return ndimage.distance_transform_edt(hull | brain)


def sample_patches(
    image: np.ndarray, brain: np.ndarray, per_orientation: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``per_orientation`` patches of each orientation, centred on random brain voxels with at
    least half of the patch inside the brain; (patches, orientation, depth_mm, centre (N, 3)
    voxel indices). 1 mm grid."""
    half = PATCH // 2
    depth = outline_depth_mm(brain)
    inside = brain.copy()
    inside[:half] = inside[-half:] = False
    inside[:, :half] = inside[:, -half:] = False
    inside[:, :, :half] = inside[:, :, -half:] = False
    # a patch about half in the brain has its centre within ~half a patch of the outline or
    # deeper; the filled share is checked per patch below
    candidates = np.argwhere(inside)
    patches, orient, depths, centres = [], [], [], []
    for axis in range(3):
        taken = 0
        for _ in range(per_orientation * 20):
            if taken == per_orientation:
                break
            c = candidates[rng.integers(len(candidates))]
            box = [slice(int(v) - half, int(v) + half) for v in c]
            box[axis] = slice(int(c[axis]), int(c[axis]) + 1)
            cut = brain[tuple(box)].squeeze(axis)
            if cut.mean() < 0.5:
                continue
            patches.append(np.where(cut, image[tuple(box)].squeeze(axis), 0.0))
            orient.append(axis)
            depths.append(depth[tuple(c)])
            centres.append(c)
            taken += 1
    return (
        np.asarray(patches, np.float32),
        np.asarray(orient, np.int64),
        np.asarray(depths, np.float32),
        np.asarray(centres, np.int64).reshape(-1, 3),
    )


def gather(scans: list[tuple[np.ndarray, np.ndarray]], per_orientation: int, seed: int) -> Patches:
    """Patches of every (image, brain mask) pair on the MNI 1 mm grid, each image divided by
    its brain median."""
    from mslesion.synth.anatomy import MNI_AFFINE_1MM

    rng = np.random.default_rng(seed)
    images, scan, orient, depth, x_mm = [], [], [], [], []
    for index, (image, brain) in enumerate(scans):
        scaled = image / np.median(image[brain])
        p, o, d, c = sample_patches(scaled, brain, per_orientation, rng)
        images.append(p)
        scan.append(np.full(len(p), index))
        orient.append(o)
        depth.append(d)
        x_mm.append(MNI_AFFINE_1MM[0, 0] * c[:, 0] + MNI_AFFINE_1MM[0, 3])
    return Patches(
        np.concatenate(images),
        np.concatenate(scan),
        np.concatenate(orient),
        np.concatenate(depth),
        np.concatenate(x_mm).astype(np.float32),
    )


def roc_auc(scores_real: np.ndarray, scores_synthetic: np.ndarray) -> float:
    """P(a synthetic patch scores higher than a real one), ties counting half (Mann-Whitney U
    over the product of the sizes). NaN when either side is empty."""
    if len(scores_real) == 0 or len(scores_synthetic) == 0:
        return float("nan")
    ranks = stats.rankdata(np.concatenate([scores_real, scores_synthetic]))
    n_r, n_s = len(scores_real), len(scores_synthetic)
    u = ranks[n_r:].sum() - n_s * (n_s + 1) / 2
    return float(u / (n_r * n_s))


class Observer(nn.Module):
    """A small 2D CNN: (B, 1, 32, 32) patch -> (B,) logit of "synthetic"."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()

        def stage(c_in: int, c_out: int) -> list[nn.Module]:
            return [
                nn.Conv2d(c_in, c_out, 3, padding=1),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
                nn.Conv2d(c_out, c_out, 3, padding=1),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]

        self.features = nn.Sequential(
            *stage(1, width),
            nn.MaxPool2d(2),
            *stage(width, 2 * width),
            nn.MaxPool2d(2),
            *stage(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Linear(4 * width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1)).squeeze(1)


def balanced_weights(synthetic: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Per-patch weights (N,) under which every (acquisition, real/synthetic) cell weighs the
    same: otherwise "2D-looking" would itself predict the label wherever the folds' training
    side holds more synthetic than real 2D scans (or the reverse)."""
    cells = np.char.add(kind.astype(str), synthetic.astype(str))
    _, inverse, counts = np.unique(cells, return_inverse=True, return_counts=True)
    weights = 1.0 / counts[inverse]
    return (weights * len(weights) / weights.sum()).astype(np.float32)


def train_observer(
    images: np.ndarray,
    synthetic: np.ndarray,
    weights: np.ndarray,
    epochs: int,
    seed: int,
    device: str = "cpu",
) -> Observer:
    """Fit an :class:`Observer` on patches (N, 32, 32) labelled ``synthetic`` (N,) bool with
    per-patch loss ``weights`` (N,). Random flips only: the direction of the blur (the
    phase-encoding axis) is itself a property of a scan."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Observer().to(device)
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    x_all = torch.from_numpy(images[:, None])
    y_all = torch.from_numpy(synthetic.astype(np.float32))
    w_all = torch.from_numpy(weights)
    loss_fn = nn.BCEWithLogitsLoss(reduction="none")
    model.train()
    for _ in range(epochs):
        order = rng.permutation(len(images))
        for start in range(0, len(order), 128):
            idx = torch.from_numpy(order[start : start + 128])
            x, y, w = x_all[idx].to(device), y_all[idx].to(device), w_all[idx].to(device)
            if rng.random() < 0.5:
                x = x.flip(-1)
            if rng.random() < 0.5:
                x = x.flip(-2)
            optim.zero_grad()
            ((loss_fn(model(x), y) * w).sum() / w.sum()).backward()
            optim.step()
    return model.eval()


@torch.no_grad()
def scores(model: Observer, images: np.ndarray, device: str = "cpu") -> np.ndarray:
    """The observer's "synthetic" probability of each patch (N,)."""
    out = [
        torch.sigmoid(model(torch.from_numpy(images[s : s + 512, None]).to(device))).cpu()
        for s in range(0, len(images), 512)
    ]
    return torch.cat(out).numpy()


def assign_folds(subjects: list[str], synthetic: list[bool], kinds: list[str]) -> np.ndarray:
    """Fold of each scan: one per real subject (sorted); synthetic cases go round-robin to the
    folds whose real subject has their acquisition (2D / 3D), so each fold compares like with
    like. A real subject's acquisition is that of its first scan."""
    real = sorted({s for s, y in zip(subjects, synthetic, strict=True) if not y})
    kind_of = {s: k for s, y, k in zip(subjects, synthetic, kinds, strict=True) if not y}
    folds, used = [], {}
    for subject, is_synthetic, kind in zip(subjects, synthetic, kinds, strict=True):
        if not is_synthetic:
            folds.append(real.index(subject))
            continue
        matching = [i for i, r in enumerate(real) if kind_of[r] == kind] or list(range(len(real)))
        folds.append(matching[used.get(kind, 0) % len(matching)])
        used[kind] = used.get(kind, 0) + 1
    return np.asarray(folds)


def cross_validate(
    patches: Patches,
    synthetic_scan: np.ndarray,
    kind_scan: np.ndarray,
    fold_of_scan: np.ndarray,
    epochs: int,
    seed: int = 0,
    device: str = "cpu",
) -> np.ndarray:
    """Held-out "synthetic" probability of every patch: fold k's patches scored by an
    observer trained on the other folds. ``synthetic_scan``, ``kind_scan`` (acquisition) and
    ``fold_of_scan``: per scan."""
    label = synthetic_scan[patches.scan]
    fold = fold_of_scan[patches.scan]
    out = np.full(len(label), np.nan, np.float32)
    for k in np.unique(fold_of_scan):
        train = fold != k
        # re-balanced on the training side alone
        w = balanced_weights(label[train], kind_scan[patches.scan][train])
        model = train_observer(
            patches.images[train], label[train], w, epochs, seed + int(k), device
        )
        out[~train] = scores(model, patches.images[~train], device)
    return out


def figure(patches: Patches, label: np.ndarray, score: np.ndarray, path: Path) -> None:
    """Four rows of 8 held-out patches: synthetic called synthetic most surely, real called
    real, synthetic taken for real, real taken for synthetic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    syn, real = np.flatnonzero(label), np.flatnonzero(~label)
    rows = [
        ("synthetic, surest", syn[np.argsort(-score[syn])[:8]]),
        ("real, surest", real[np.argsort(score[real])[:8]]),
        ("synthetic taken for real", syn[np.argsort(score[syn])[:8]]),
        ("real taken for synthetic", real[np.argsort(-score[real])[:8]]),
    ]
    fig, axes = plt.subplots(4, 8, figsize=(12, 6.6))
    for r, (title, idx) in enumerate(rows):
        for c in range(8):
            ax = axes[r, c]
            ax.axis("off")
            if c < len(idx):
                i = idx[c]
                ax.imshow(np.rot90(patches.images[i]), cmap="gray", vmin=0, vmax=1.8)
                ax.set_title(
                    f"{ORIENTATIONS[patches.orientation[i]][:3]} p={score[i]:.2f}", fontsize=7
                )
        axes[r, 0].text(-0.15, 0.5, title, transform=axes[r, 0].transAxes, rotation=90,
                        va="center", ha="right", fontsize=8)  # fmt: skip
    fig.suptitle("Machine observer: held-out patches (p = its probability of 'synthetic')")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def auc_rows(
    patches: Patches,
    label: np.ndarray,
    score: np.ndarray,
    fold: np.ndarray,
    kind: np.ndarray,
    fold_names: list[str],
) -> dict[str, list[float]]:
    """Held-out AUCs by row name, each within a fold (one observer, one real patient against
    the synthetic cases of its acquisition), then averaged over the folds: overall, per fold,
    per acquisition, per orientation, per depth band (all folds, then the 2D and the 3D
    folds apart) and on and off the midline. Per patch: ``label`` (synthetic?), ``score``,
    ``fold``, ``kind`` (acquisition)."""

    def auc(select: np.ndarray) -> float:
        return roc_auc(score[select & ~label], score[select & label])

    folds = np.unique(fold)

    def mean_over_folds(select: np.ndarray, which: np.ndarray = folds) -> float:
        values = [auc(select & (fold == k)) for k in which]
        values = [v for v in values if np.isfinite(v)]
        return float(np.mean(values)) if values else float("nan")

    everything = np.ones(len(label), bool)
    rows = {"AUC (mean of folds)": [mean_over_folds(everything)]}
    rows["AUC per fold " + " / ".join(fold_names[k] for k in folds)] = [
        auc(fold == k) for k in folds
    ]
    folds_of = {}
    for acquisition in ("2D", "3D"):
        mine = [k for k in folds if np.any((fold == k) & ~label & (kind == acquisition))]
        folds_of[acquisition] = np.asarray(mine, np.int64)
        rows[f"AUC {acquisition} folds"] = [mean_over_folds(everything, folds_of[acquisition])]
    rows["AUC sag / cor / ax"] = [mean_over_folds(patches.orientation == a) for a in range(3)]
    names = " / ".join(f"{lo}-{hi}" if hi < 200 else f">{lo}" for lo, hi in DEPTH_BANDS_MM)
    bands = [(patches.depth_mm >= lo) & (patches.depth_mm < hi) for lo, hi in DEPTH_BANDS_MM]
    rows[f"AUC depth {names} mm"] = [mean_over_folds(band) for band in bands]
    for acquisition, which in folds_of.items():
        rows[f"  the same, {acquisition} folds only"] = [
            mean_over_folds(band, which) for band in bands
        ]
    midline = np.abs(patches.x_mm) < MIDLINE_MM
    rows[f"AUC |x| < / >= {MIDLINE_MM:g} mm (midline / lateral)"] = [
        mean_over_folds(midline),
        mean_over_folds(~midline),
    ]
    return rows


def format_rows(repeats: list[dict[str, list[float]]]) -> list[str]:
    """One line per row: each value's mean over the repeats, with [min-max] when there are
    several."""
    lines = []
    for name in repeats[0]:
        values = np.array([r[name] for r in repeats])  # (repeats, values)
        cells = [
            f"{np.nanmean(v):.3f}"
            + (f" [{np.nanmin(v):.2f}-{np.nanmax(v):.2f}]" if len(v) > 1 else "")
            for v in values.T
        ]
        lines.append(f"{name:<44} " + " / ".join(cells))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8, help="synthetic cases (seeds 0..n-1)")
    parser.add_argument(
        "--per-orientation", type=int, default=150, help="patches per scan and axis"
    )
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0, help="patch sampling and training")
    parser.add_argument("--repeats", type=int, default=3, help="seeds seed, seed+1, ...")
    parser.add_argument("--png", type=Path, default=Path("docs/figures/realism_observer.png"))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    from mslesion.paths import require_shared_data
    from synth_realism import benchmark_case, load, real_kind, real_pairs

    t0 = time.perf_counter()
    root = require_shared_data()
    scans, synthetic, kinds, subjects = [], [], [], []
    for name, flair, _mask in real_pairs(root):
        image = load(flair)
        scans.append((image, image > 0))
        synthetic.append(False)
        kinds.append(real_kind(flair))
        subjects.append(name.split("_")[0])
    for seed in range(args.n):
        case = benchmark_case(seed)
        scans.append((case.flair, case.brain_mask > 0))
        synthetic.append(True)
        kinds.append(case.acquisition)
        subjects.append(f"seed{seed}")
    real_subjects = sorted({s for s, y in zip(subjects, synthetic, strict=True) if not y})
    fold_of_scan = assign_folds(subjects, synthetic, kinds)
    synthetic_scan, kind_scan = np.asarray(synthetic), np.asarray(kinds)
    t1 = time.perf_counter()
    # each repeat draws its own patches and trains its own observers: the AUC moves by a few
    # hundredths between them (most in the 3D folds, one real scan each)
    repeats, first = [], None
    for seed in range(args.seed, args.seed + args.repeats):
        patches = gather(scans, args.per_orientation, seed=seed)
        score = cross_validate(
            patches, synthetic_scan, kind_scan, fold_of_scan, args.epochs, seed, args.device
        )
        label = synthetic_scan[patches.scan]
        folds = fold_of_scan[patches.scan]
        repeats.append(
            auc_rows(patches, label, score, folds, kind_scan[patches.scan], real_subjects)
        )
        # (a line per repeat as it ends: a run cut short by a time limit still leaves these)
        overall = repeats[-1]["AUC (mean of folds)"][0]
        print(f"repeat seed {seed}: AUC (mean of folds) {overall:.3f}", flush=True)
        first = first or (patches, label, score)
    t2 = time.perf_counter()
    patches, label, score = first
    print(
        f"{len(label)} patches of {PATCH}x{PATCH} mm per repeat: {int((~label).sum())} real "
        f"({len(real_subjects)} patients, {int((~synthetic_scan).sum())} scans), "
        f"{int(label.sum())} synthetic ({args.n} cases); {len(real_subjects)} folds, "
        f"{args.epochs} epochs, {args.repeats} repeat(s) (seeds {args.seed}-"
        f"{args.seed + args.repeats - 1}; mean [min-max]); 0.5: cannot tell them apart"
    )
    for line in format_rows(repeats):
        print(line)
    per_scan = [
        f"{subjects[i]}{'' if synthetic[i] else ' (real)'} [{real_subjects[fold_of_scan[i]]}] "
        f"{np.mean(score[patches.scan == i]):.2f}"
        for i in range(len(synthetic))
    ]
    print("mean p(synthetic) per scan, first repeat: " + ", ".join(per_scan))
    figure(patches, label, score, args.png)
    print(f"figure: {args.png} (first repeat); data {t1 - t0:.0f} s, observers {t2 - t1:.0f} s")


if __name__ == "__main__":
    main()
