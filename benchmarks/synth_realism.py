"""Realism of ``mslesion.synth``: synthetic vs real FLAIR on the numbers a radiologist looks at.

Usage: ``python benchmarks/synth_realism.py [--n 4] [--png docs/figures/synth_vs_real.png]
[--no-fit] [--undeformed]``

Needs the shared data folder (real scans + atlas). Every figure is computed the same way for
real and synthetic scans, with the FSL MNI152 atlas regions: all volumes share that grid, and
since round 19 the regions are fitted to each scan's brain by an affine (``atlas_fit.py``;
``--no-fit`` reads them unfitted, as rounds 1-18 did): intensities are divided by the median
normal-appearing WM (atlas WM eroded by 2 voxels, minus lesions) before comparing.
"""

from __future__ import annotations

import argparse
import glob
from collections.abc import Iterator
from pathlib import Path

import cc3d
import nibabel as nib
import numpy as np
from scipy import ndimage, stats

# (atlas_fit, realism_cortex and realism_lesions are modules beside this script: python puts
# the script's folder on the path)
from atlas_fit import fit_atlas, fit_summary, mean_transform, warp_regions
from mslesion.paths import require_shared_data
from mslesion.synth import SynthConfig, generate_case
from mslesion.synth.anatomy import MNI_AFFINE_1MM, mni_template
from mslesion.synth.deep_grey import NUCLEI_MM, ellipsoid_radius
from mslesion.synth.normal import axial_holes, mm_grid
from realism_cortex import cortical_ribbon, medial_box, medial_dark
from realism_lesions import LargeShape, lesion_stats, pooled_large, pooled_thin
from realism_texture import nawm_scales, sharpness


def load(path: str | Path) -> np.ndarray:
    return np.asarray(nib.load(str(path)).dataobj, dtype=np.float32)


def atlas_tissues(root: Path) -> np.ndarray:
    """The FSL atlas' tissue labels (X, Y, Z) uint8: 0 outside the brain, 1 CSF, 2 GM, 3 WM."""
    path = root / "atlas" / "MNI152_1mm" / "MNI152_T1_1mm_brain_tissues.nii.gz"
    return load(path).astype(np.uint8)


def atlas(root: Path) -> dict[str, np.ndarray]:
    a = root / "atlas" / "MNI152_1mm"
    tissues = atlas_tissues(root)
    regions = {
        "wm": ndimage.binary_erosion(tissues == 3, iterations=2),
        "gm": tissues == 2,
        "ventricles": load(a / "MNI_1mm_Ventricules_Dilated.nii.gz") > 0,
        "juxtacortical": load(a / "MNI_1mm_JuxtaCorticalWhiteMatter.nii.gz") > 0,
        "infratentorial": load(a / "MNI_1mm_Infratentorial.nii.gz") > 0,
    }
    regions.update(nucleus_cores(tissues.shape))
    regions["medial_cortex"] = medial_box(tissues.shape, MNI_AFFINE_1MM)
    # the basal cisterns (and the other CSF the atlas leaves out of its brain), 2 mm clear of
    # the atlas brain so the cortex round them does not count
    brain = tissues > 0
    regions["cisterns"] = axial_holes(brain) & ~ndimage.binary_dilation(brain, iterations=2)
    return regions


#: Normalised radius of the deep-grey ellipsoids' cores that the ``deep_*`` rows read.
NUCLEUS_CORE = 0.6


def nucleus_cores(shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """``deep_thalamus``, ``deep_caudate``, ``deep_putamen``, ``deep_pallidum``: the cores of
    the generator's MNI-mm ellipsoids (``mslesion.synth.deep_grey.NUCLEI_MM``; the caudate's
    head only). The FSL atlas has no deep nuclei; the real scans are registered to MNI, so
    their nuclei lie there too, less exactly than in an undeformed synthetic case."""
    x, y, z = mm_grid(shape, MNI_AFFINE_1MM)  # type: ignore[arg-type]
    return {
        f"deep_{name.split()[0]}": ellipsoid_radius(x, y, z, c, semi, yaw) < NUCLEUS_CORE
        for name, (c, semi, yaw, _share) in NUCLEI_MM.items()
        if name != "caudate body"
    }


def real_pairs(root: Path) -> list[tuple[str, Path, Path]]:
    pairs = []
    for flair in sorted((root / "real" / "MSLesSeg").rglob("*_FLAIR.nii.gz")):
        pairs.append(
            (flair.name.split("_FLAIR")[0], flair, Path(str(flair).replace("_FLAIR", "_MASK")))
        )
    for flair in sorted((root / "real" / "open_ms_data").rglob("FLAIR_*regtoMNI.nii.gz")):
        mask = next(flair.parent.glob("GOLD_STANDARD*.nii.gz"))
        pairs.append((flair.parent.name, flair, mask))
    return pairs


def contrast_stats(
    img: np.ndarray,
    lesions: np.ndarray,
    at: dict[str, np.ndarray],
    large_voxels: list[np.ndarray] | None = None,
) -> dict[str, float]:
    """Contrast, noise and sharpness figures of one scan (intensities / median NAWM); appends
    the voxel values (/ NAWM) inside its lesions >= 300 voxels to ``large_voxels`` if given
    (pooled over cases by :func:`pooled_percentiles`)."""
    brain = img > 0
    nawm = float(np.median(img[at["wm"] & brain & ~lesions]))
    gm = float(np.median(img[at["gm"] & brain & ~lesions]))
    out = {
        "gm_wm": gm / nawm,
        "les_nawm": float(np.median(img[lesions])) / nawm if lesions.any() else float("nan"),
    }
    out["csf_vent_p10"] = float(np.percentile(img[at["ventricles"] & brain & ~lesions], 10)) / nawm
    out["wm_cv"] = float(np.std(img[at["wm"] & brain & ~lesions])) / nawm
    out.update(contrast_by_size(img, lesions, nawm))
    if large_voxels is not None:
        large_voxels.append(img[large_lesions(lesions)] / nawm)
    out.update(edge_profile(img / nawm, lesions, at["wm"] & brain))
    # (2 mm off the lesions: their edges would count as noise)
    away = ~ndimage.binary_dilation(lesions, iterations=2)
    out.update(sharpness(img / nawm, brain, at["wm"] & brain & away))
    # (3 mm off the lesions: their halo would count as blotches)
    clear = at["wm"] & brain & ~ndimage.binary_dilation(lesions, iterations=3)
    out.update(nawm_scales(img / nawm, clear))
    out.update(sulcal_depth(img / nawm, lesions))
    out.update(cortical_ribbon(img / nawm, cerebrum_off_lesions(lesions)))
    out.update(medial_dark(img / nawm, at["medial_cortex"] & ~lesions, at["ventricles"]))
    for key, core in at.items():
        if key.startswith("deep_"):
            out[key] = float(np.median(img[core & brain & ~lesions])) / nawm
    # the basal cisterns: dark grey inside the brain mask of a skull-stripped scan, or black
    # holes in it (voxels of axial holes, a whole brain's)
    cisterns = at["cisterns"] & brain
    out["cisterns"] = float(np.median(img[cisterns])) / nawm if cisterns.any() else np.nan
    out["mask_holes"] = float(axial_holes(brain).sum())
    return out


#: Depths (mm below the brain's outer surface) of the ``sulcal_depth`` rows, and the lowest
#: MNI z (mm) counted: the cerebrum above the tentorium.
SULCAL_DEPTHS_MM, SULCAL_DEPTH_MIN_Z = (1, 2, 4, 8, 12), -2.0


def cerebrum_off_lesions(lesions: np.ndarray) -> np.ndarray:
    """Bool (X, Y, Z) on the 1 mm MNI grid: above MNI z = ``SULCAL_DEPTH_MIN_Z`` (the cerebrum
    above the tentorium), outside ``lesions``: where the cortex rows look."""
    z = MNI_AFFINE_1MM[2, 2] * np.arange(lesions.shape[2]) + MNI_AFFINE_1MM[2, 3]
    return ~lesions & (z >= SULCAL_DEPTH_MIN_Z)[None, None, :]


def sulcal_depth(img: np.ndarray, lesions: np.ndarray) -> dict[str, float]:
    """Share of CSF-dark voxels (< 0.5 x NAWM; ``img`` in units of NAWM, 1 mm MNI grid) on the
    shells 1, 2, 4, 8 and 12 mm below the brain's outer surface (its mask closed and filled),
    above MNI z = -2 mm, lesions left out: ``dark_1mm`` ... A real sulcus is wide open at its
    mouth and closes towards its fundus (the real scans' medians at 4, 8, 12 mm: 0.091, 0.044,
    0.027); sulci opened as deep as they reach drew dark dashes ~10 mm into the cortex (round
    14: 0.080, 0.080, 0.060). The 1 mm shell tells where the skull strip cut: a loose mask's
    CSF rim is mostly dark, a tight mask's edge half bright cortex."""
    brain = ndimage.binary_fill_holes(ndimage.binary_closing(img > 0, iterations=2))
    depth = ndimage.distance_transform_edt(brain)
    counted = cerebrum_off_lesions(lesions)
    dark = img < 0.5
    return {
        f"dark_{d}mm": float(dark[counted & (np.abs(depth - d) < 0.5)].mean())
        for d in SULCAL_DEPTHS_MM
    }


#: Depths (voxels) of the lesion edge profile: inside the mask (distance to the nearest voxel
#: outside it) and outside it in the WM (distance to the nearest lesion voxel).
EDGE_DEPTHS_IN, EDGE_DEPTHS_OUT = (3, 2, 1), (1, 2, 3)


def edge_profile(img: np.ndarray, lesions: np.ndarray, wm: np.ndarray) -> dict[str, float]:
    """Median intensity (``img`` in units of NAWM) on the shells at 1, 2, 3 voxels inside the
    lesion masks and 1, 2, 3 voxels outside them, the outside shells within the WM (atlas WM
    dilated 3 voxels, so juxtacortical and periventricular lesions' surroundings count, CSF
    and cortex largely not): how soft the lesions' edges are, from both sides.

    Real lesions fade into the NAWM over 2-3 mm outside the rater's outline (a halo the mask
    leaves out) and are flatter inside; the per-size medians cannot tell that apart from a
    sharp edge with a brighter core."""
    out = {f"edge_in{d}": float("nan") for d in EDGE_DEPTHS_IN}
    out.update({f"edge_out{d}": float("nan") for d in EDGE_DEPTHS_OUT})
    if not lesions.any():
        return out
    inside = ndimage.distance_transform_edt(lesions)
    outside = ndimage.distance_transform_edt(~lesions)
    around = ndimage.binary_dilation(wm, iterations=3) & ~lesions & (img > 0)
    for d in EDGE_DEPTHS_IN:
        shell = lesions & (np.abs(inside - d) < 0.5)
        if shell.any():
            out[f"edge_in{d}"] = float(np.median(img[shell]))
    for d in EDGE_DEPTHS_OUT:
        shell = around & (np.abs(outside - d) < 0.5)
        if shell.any():
            out[f"edge_out{d}"] = float(np.median(img[shell]))
    return out


#: Lesion size classes (26-connected voxels, 1 mm grid) for the contrast-by-size rows.
SIZE_CLASSES = {"small": (1, 30), "mid": (30, 300), "large": (300, 10**9)}


def contrast_by_size(img: np.ndarray, lesions: np.ndarray, nawm: float) -> dict[str, float]:
    """Median over lesions of each lesion's median intensity / NAWM, per size class.

    The mask-wide median is dominated by the largest lesions (and by how generously their
    edges were drawn); this shows whether small and large lesions each match the real ones.
    """
    labels, n = cc3d.connected_components(lesions, connectivity=26, return_N=True)
    out = {f"les_nawm_{k}": float("nan") for k in SIZE_CLASSES}
    if not n:
        return out
    index = np.arange(1, n + 1)
    sizes = ndimage.sum_labels(lesions, labels, index)
    medians = np.asarray(ndimage.median(img, labels, index)) / nawm
    for name, (lo, hi) in SIZE_CLASSES.items():
        chosen = (sizes >= lo) & (sizes < hi)
        if chosen.any():
            out[f"les_nawm_{name}"] = float(np.median(medians[chosen]))
    return out


def large_lesions(lesions: np.ndarray) -> np.ndarray:
    """Bool (X, Y, Z): the 26-connected lesions of ``SIZE_CLASSES["large"]``."""
    labels = cc3d.connected_components(lesions, connectivity=26)
    sizes = np.bincount(labels.ravel())
    keep = sizes >= SIZE_CLASSES["large"][0]
    keep[0] = False
    return keep[labels]


def pooled_percentiles(values: list[np.ndarray]) -> str:
    """ "p10 / p50 / p90 (n=N voxels)" of the pooled values: the spread of intensity inside
    large lesions (a saturated white core with a dim rim and an evenly grey plaque can share
    one per-lesion median)."""
    pooled = np.concatenate(values) if values else np.zeros(0)
    if not pooled.size:
        return "none"
    p10, p50, p90 = np.percentile(pooled, (10, 50, 90))
    return f"{p10:.2f} / {p50:.2f} / {p90:.2f} (n={pooled.size})"


def brain_histogram(img: np.ndarray, at: dict[str, np.ndarray], lesions: np.ndarray) -> np.ndarray:
    brain = img > 0
    nawm = float(np.median(img[at["wm"] & brain & ~lesions]))
    return img[brain] / nawm


#: The real scans' acquisitions: MSLesSeg's are 2D (thick axial slices, smooth along Z once
#: resampled to 1 mm), open_ms_data's 3D; and their brain masks: MSLesSeg's cut loose (the CSF
#: round the brain kept), open_ms_data's tight (at the pial surface).
REAL_3D_SOURCE = "open_ms_data"


def real_kind(flair: str | Path) -> str:
    """Acquisition of a real scan by its source: "3D" (open_ms_data) or "2D" (MSLesSeg)."""
    return "3D" if REAL_3D_SOURCE in str(flair) else "2D"


def benchmark_case(seed: int, deform: bool = True):  # noqa: ANN201 (a SynthCase)
    """Synthetic case ``seed`` of the realism benchmarks: 1 mm, even seeds at medium lesion
    load, odd ones at high load."""
    load = "medium" if seed % 2 == 0 else "high"
    return generate_case(seed, SynthConfig(lesion_load=load, deform=deform))


def labelled_scans(n: int) -> Iterator[tuple[str, np.ndarray, np.ndarray, int | None]]:
    """The real scans, then synthetic cases 0..n-1 (:func:`benchmark_case`), one at a time:
    (label, image (X, Y, Z), brain (bool, its nonzero voxels or the case's mask), the seed
    or None for a real scan); for the benchmarks that print one line per scan."""
    for name, flair, _mask in real_pairs(require_shared_data()):
        image = load(flair)
        yield f"{name} (real {real_kind(flair)})", image, image > 0, None
    for seed in range(n):
        case = benchmark_case(seed)
        yield f"seed {seed} ({case.acquisition})", case.flair, case.brain_mask > 0, seed


#: Rows also shown split by acquisition (the real 2D and 3D scans differ most in these).
SPLIT_BY_ACQUISITION = (
    "gm_wm",
    "les_nawm",
    "les_nawm_small",
    "les_nawm_mid",
    "les_nawm_large",
    "wm_front_back",
    "wm_band_1_2",
    "grain_2mm",
    "noise_mad",
    "noise_corr",
    "noise_corr_z",
    "edge_p90",
    "edge_csf_p90",
    "edge_z_x",
    "edge_y_x",
    "dark_8mm",
    "ribbon_1mm",
    "ribbon_2mm",
    "ribbon_3mm",
    "ribbon_4mm",
    "deep_thalamus",
    "deep_caudate",
    "deep_putamen",
    "deep_pallidum",
    "medial_dark",
)
#: Rows also shown split by where the brain mask was cut (the outermost shells tell that).
SPLIT_BY_MASK = ("dark_1mm", "dark_2mm")


def by_group(
    rows: list[dict[str, float]], groups: list[str], key: str, order: tuple[str, ...]
) -> str:
    """``key``'s "median [min-max]" over the rows of each group in ``order`` (``groups``: one
    label per row, e.g. "2D" / "3D" or "loose" / "tight"), joined by " / "."""
    parts = []
    for group in order:
        picked = [{key: r[key]} for r, g in zip(rows, groups, strict=True) if g == group]
        parts.append(summarise(picked)[key] if picked else "-")
    return " / ".join(parts)


def summarise(rows: list[dict[str, float]]) -> dict[str, str]:
    """ "median [min-max]" of each key over the rows."""
    out = {}
    for k in rows[0]:
        values = [r[k] for r in rows]
        out[k] = f"{np.nanmedian(values):.3g} [{np.nanmin(values):.3g}-{np.nanmax(values):.3g}]"
    return out


def figure(rows: list[tuple[str, np.ndarray]], path: Path) -> None:
    """One row of axial / coronal / sagittal slices per (title, image): the synthetic and the
    real scans of each acquisition kind one under the other, so that like is set beside like
    (a 2D scan's thick slices soften it far more than any synthetic change would)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        len(rows), 3, figsize=(12, 4.2 * len(rows)), facecolor="black", squeeze=False
    )
    for row, (name, img) in enumerate(rows):
        vmax = np.percentile(img[img > 0], 99.7)
        views = (img[:, :, 95], img[:, 118, :], img[91, :, :])
        for col, view in enumerate(views):
            ax = axes[row, col]
            ax.imshow(np.rot90(view), cmap="gray", vmin=0, vmax=vmax, interpolation="nearest")
            ax.set_axis_off()
        axes[row, 0].set_title(name, color="white", loc="left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, facecolor="black")
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n", type=int, default=4, help="synthetic cases (1 mm, medium and high load)"
    )
    parser.add_argument("--png", type=Path, default=Path("docs/figures/synth_vs_real.png"))
    parser.add_argument(
        "--no-fit", action="store_true", help="atlas regions as they lie on the MNI grid"
    )
    parser.add_argument(
        "--undeformed",
        action="store_true",
        help="synthetic cases without their random deformation: the deep_* rows' fixed MNI "
        "cores then sit on the nuclei (how their levels are tuned)",
    )
    args = parser.parse_args()
    root = require_shared_data()
    at = atlas(root)
    atlas_brain = atlas_tissues(root) > 0

    def regions_of(img: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, float], object]:
        """(atlas regions fitted to the scan, fit figures, the fit's transform or None)."""
        if args.no_fit:
            return at, {}, None
        transform = fit_atlas(img > 0, atlas_brain)
        info = fit_summary(img > 0, atlas_brain, transform)
        return warp_regions(at, transform), info, transform

    real_c, real_h, real_l = [], [], []
    real_large: list[LargeShape] = []
    real_inside: list[np.ndarray] = []
    real_first: dict[str, tuple[str, np.ndarray]] = {}  # the first real scan of each kind
    real_kinds = []
    real_masks = []  # where each real scan's brain mask was cut, by its source
    source_fits = []  # the open_ms_data scans' fits, for that source's mask-only patients
    for name, flair, mask_path in real_pairs(root):
        img, mask = load(flair), load(mask_path) > 0
        regions, info, transform = regions_of(img)
        real_c.append({**contrast_stats(img, mask, regions, real_inside), **info})
        real_kinds.append(real_kind(flair))
        real_masks.append("tight" if REAL_3D_SOURCE in str(flair) else "loose")
        real_h.append(brain_histogram(img, regions, mask))
        real_l.append(lesion_stats(mask, regions, real_large))
        real_first.setdefault(real_kinds[-1], (name, img))
        if REAL_3D_SOURCE in str(flair) and transform is not None:
            source_fits.append(transform)
    # the masks-only patients come without an image to fit: their pipeline's mean fit
    masks_only = warp_regions(at, mean_transform(source_fits)) if source_fits else at
    for mask_path in sorted(
        glob.glob(str(root / "real/open_ms_data/cross_sectional/MNI/*/GOLD_STANDARD*.nii.gz"))
    ):
        if not any(p in mask_path for p in ("patient19", "patient26")):
            real_l.append(lesion_stats(load(mask_path) > 0, masks_only, real_large))

    syn_c, syn_h, syn_l = [], [], []
    syn_kinds: list[str] = []
    syn_masks: list[str] = []
    syn_large: list[LargeShape] = []
    syn_inside: list[np.ndarray] = []
    synth_first: dict[str, tuple[str, np.ndarray]] = {}
    for i in range(args.n):
        case = benchmark_case(i, deform=not args.undeformed)
        mask = case.lesion_mask > 0
        regions, info, _ = regions_of(case.flair)
        syn_c.append({**contrast_stats(case.flair, mask, regions, syn_inside), **info})
        syn_kinds.append(case.acquisition)
        syn_masks.append(case.brain_mask_style)
        syn_h.append(brain_histogram(case.flair, regions, mask))
        syn_l.append(lesion_stats(mask, regions, syn_large))
        synth_first.setdefault(case.acquisition, (f"seed {i}", case.flair))

    pooled_real = np.concatenate(real_h)
    w_syn = [stats.wasserstein_distance(h, pooled_real) for h in syn_h]
    w_real = [
        stats.wasserstein_distance(h, np.concatenate(real_h[:i] + real_h[i + 1 :]))
        for i, h in enumerate(real_h)
    ]

    print(f"{'measure':<24}{'synthetic (median [min-max])':<34}real (median [min-max])")
    for block_s, block_r in ((syn_c, real_c), (syn_l, real_l)):
        s, r = summarise(block_s), summarise(block_r)
        for k in s:
            print(f"{k:<24}{s[k]:<34}{r[k]}")
    for key in SPLIT_BY_ACQUISITION:
        split_s = by_group(syn_c, syn_kinds, key, ("2D", "3D"))
        split_r = by_group(real_c, real_kinds, key, ("2D", "3D"))
        print(f"{key + ' 2D / 3D':<24}{split_s:<34} {split_r}")
    for key in SPLIT_BY_MASK:
        split_s = by_group(syn_c, syn_masks, key, ("loose", "tight"))
        split_r = by_group(real_c, real_masks, key, ("loose", "tight"))
        print(f"{key + ' loose / tight':<24}{split_s:<34} {split_r}")
    print(f"{'lesions >= 300 pooled':<24}{pooled_large(syn_large):<34}{pooled_large(real_large)}")
    print(f"{'thin 300/1k/5k+ pooled':<24}{pooled_thin(syn_large):<34}{pooled_thin(real_large)}")
    inside_s, inside_r = pooled_percentiles(syn_inside), pooled_percentiles(real_inside)
    print(f"{'inside >= 300 p10/50/90':<24}{inside_s:<34}{inside_r}")
    print(
        f"{'W1 hist vs real pool':<24}{np.median(w_syn):<34.3f}"
        f"{np.median(w_real):.3f} (each real vs the other reals)"
    )
    tpl = mni_template(1.0)  # the anatomy every synthetic case is deformed from
    gm_share = float(tpl.gm.sum() / (tpl.gm.sum() + tpl.wm.sum()))
    print(f"{'template GM share':<24}{gm_share:<34.3f}GM / (GM + WM); adult brains ~0.55")
    rows = []
    for kind in ("2D", "3D"):
        for source, first in (("synthetic", synth_first), ("real", real_first)):
            if kind in first:
                name, img = first[kind]
                rows.append((f"{source}, {kind} ({name})", img))
    figure(rows, args.png)
    print(f"figure: {args.png}")


if __name__ == "__main__":
    main()
