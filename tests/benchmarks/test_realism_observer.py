"""The machine observer of the realism benchmark (``benchmarks/realism_observer.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage, stats

# the benchmark scripts are not a package: import the module from its folder
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import realism_observer as ro  # noqa: E402


def test_auc_is_the_mann_whitney_probability() -> None:
    rng = np.random.default_rng(0)
    real, synthetic = rng.normal(0, 1, 40), rng.normal(0.7, 1, 30)
    u = stats.mannwhitneyu(synthetic, real).statistic
    assert ro.roc_auc(real, synthetic) == pytest.approx(u / (40 * 30))
    assert ro.roc_auc(np.zeros(3), np.ones(2)) == 1.0
    assert ro.roc_auc(np.ones(3), np.ones(2)) == 0.5  # ties count half
    assert np.isnan(ro.roc_auc(np.ones(3), np.array([])))


def _sphere(shape: int = 48) -> np.ndarray:
    grid = np.indices((shape,) * 3) - shape / 2 + 0.5
    return (grid**2).sum(0) < (0.42 * shape) ** 2


def test_patches_lie_mostly_inside_the_brain_and_are_zero_outside() -> None:
    brain = _sphere()
    image = np.where(brain, 2.0, 7.0).astype(np.float32)
    patches, orientation, depth, centre = ro.sample_patches(
        image, brain, 10, np.random.default_rng(1)
    )
    assert patches.shape == (30, ro.PATCH, ro.PATCH) and centre.shape == (30, 3)
    assert np.bincount(orientation).tolist() == [10, 10, 10]
    assert set(np.unique(patches)) <= {0.0, 2.0}  # the outside (7.0) never shows
    assert ((patches > 0).mean(axis=(1, 2)) >= 0.5).all()
    assert brain[tuple(centre.T)].all()
    assert np.allclose(depth, ndimage.distance_transform_edt(brain)[tuple(centre.T)])


def test_depth_is_measured_below_the_filled_outline() -> None:
    """CSF a mask cut out inside the brain (a cavity, a narrow cleft from the surface) is not
    outside: the depth there and beside it is that of the whole brain."""
    whole = _sphere()
    cut = whole.copy()
    cut[20:28, 20:28, 20:28] = False  # a cut-out ventricle
    cut[23:25, 2:20, 10:38] = False  # a cleft 2 voxels wide, open to the outside
    expected = ndimage.distance_transform_edt(whole)
    depth = ro.outline_depth_mm(cut)
    # (the closing leaves a dent of a voxel or so at the cleft's mouth)
    assert np.abs(depth - expected)[whole].max() < 1.5
    # measured below the mask itself, a voxel beside the cut-out ventricle would read 1 mm
    assert ndimage.distance_transform_edt(cut)[24, 24, 19] < 2 and depth[24, 24, 19] > 15


def test_weights_balance_every_acquisition_and_class() -> None:
    synthetic = np.array([True] * 6 + [False] * 2 + [True] * 1 + [False] * 3)
    kind = np.array(["2D"] * 8 + ["3D"] * 4)
    w = ro.balanced_weights(synthetic, kind)
    sums = {(k, s): w[(kind == k) & (synthetic == s)].sum() for k in ("2D", "3D") for s in (0, 1)}
    assert np.allclose(list(sums.values()), len(w) / 4)


def test_synthetic_cases_join_the_folds_of_their_acquisition() -> None:
    subjects = ["P14", "P14", "patient19", "s0", "s1", "s2", "s3"]
    synthetic = [False, False, False, True, True, True, True]
    kinds = ["2D", "2D", "3D", "3D", "2D", "3D", "2D"]
    folds = ro.assign_folds(subjects, synthetic, kinds)
    assert folds.tolist() == [0, 0, 1, 1, 0, 1, 0]


def _scans(blur: float, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Three noisy spheres with blobs, smoothed by ``blur`` voxels (0: not at all)."""
    rng = np.random.default_rng(seed)
    brain = _sphere()
    out = []
    for _ in range(3):
        image = 1 + 0.3 * ndimage.gaussian_filter(rng.standard_normal(brain.shape), 1.0)
        image += 0.2 * rng.standard_normal(brain.shape)
        if blur:
            image = ndimage.gaussian_filter(image, blur)
        out.append((np.where(brain, image, 0).astype(np.float32), brain))
    return out


@pytest.mark.parametrize(("blur", "expect_apart"), [(0.0, False), (1.2, True)])
def test_observer_tells_a_difference_and_only_a_difference(blur: float, expect_apart: bool) -> None:
    """Held-out AUC: near 0.5 when 'real' and 'synthetic' come from one distribution, near 1
    when the 'synthetic' scans are blurred."""
    scans = _scans(0.0, 0) + _scans(blur, 1)
    synthetic = np.array([False] * 3 + [True] * 3)
    kind = np.array(["3D"] * 6)
    fold = np.array([0, 1, 2, 0, 1, 2])
    patches = ro.gather(scans, 24, seed=0)
    score = ro.cross_validate(patches, synthetic, kind, fold, epochs=15)
    label = synthetic[patches.scan]
    auc = ro.roc_auc(score[~label], score[label])
    assert (auc > 0.9) if expect_apart else (0.3 < auc < 0.7), auc


def test_auc_rows_compare_within_folds_and_format_repeats() -> None:
    rng = np.random.default_rng(0)
    n = 400
    patches = ro.Patches(
        images=np.zeros((n, ro.PATCH, ro.PATCH), np.float32),
        scan=np.zeros(n, np.int64),
        orientation=np.arange(n) % 3,
        depth_mm=rng.uniform(0, 40, n).astype(np.float32),
        x_mm=np.where((np.arange(n) // 4) % 2 == 0, 0.0, 30.0).astype(np.float32),
    )
    label = np.arange(n) % 2 == 1
    fold = (np.arange(n) // 2) % 2
    kind = np.where(fold == 0, "2D", "3D")
    # fold 1 separates perfectly; fold 0 is all ties (0.5). Pooled over folds this would read
    # neither: the rows average within-fold AUCs.
    score = np.where(fold == 1, label.astype(np.float32), 0.5)
    rows = ro.auc_rows(patches, label, score, fold, kind, ["a", "b"])
    assert rows["AUC (mean of folds)"] == [0.75]
    assert rows["AUC per fold a / b"] == [0.5, 1.0]
    assert rows["AUC 2D folds"] == [0.5] and rows["AUC 3D folds"] == [1.0]
    assert rows["  the same, 3D folds only"] == [1.0, 1.0, 1.0]
    assert rows["  the same, 2D folds only"] == [0.5, 0.5, 0.5]
    midline = rows["AUC |x| < / >= 10 mm (midline / lateral)"]
    assert midline == [0.75, 0.75]
    # the midline row reads the midline patches only: scores that separate there alone
    on_midline = np.where(np.abs(patches.x_mm) < 10, label.astype(np.float32), 0.5)
    rows_midline = ro.auc_rows(patches, label, on_midline, fold, kind, ["a", "b"])
    assert rows_midline["AUC |x| < / >= 10 mm (midline / lateral)"] == [1.0, 0.5]
    lines = ro.format_rows([rows, {**rows, "AUC (mean of folds)": [0.85]}])
    assert lines[0].split()[-2:] == ["0.800", "[0.75-0.85]"]
