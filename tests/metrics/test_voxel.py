"""Voxel metrics, cross-checked against MONAI and against cases with known answers."""

from __future__ import annotations

import math

import nibabel as nib
import numpy as np
import pytest
from metric_masks import cube, random_blobs

from mslesion.metrics.voxel import confusion_counts, surface_metrics, voxel_metrics

torch = pytest.importorskip("torch")
monai_metrics = pytest.importorskip("monai.metrics")


def _t(mask: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(mask.astype(np.float32))[None, None]


def monai_reference(pred: np.ndarray, truth: np.ndarray, spacing) -> dict[str, float]:
    """The same metrics computed by MONAI (independent implementation)."""
    p, t = _t(pred), _t(truth)
    out = {"dice": float(monai_metrics.DiceMetric(include_background=True)(p, t)[0, 0])}
    names = ["sensitivity", "specificity", "precision", "accuracy", "f1 score"]
    cm = monai_metrics.ConfusionMatrixMetric(include_background=True, metric_name=names)
    cm(p, t)
    for name, value in zip(names, cm.aggregate(), strict=True):
        out[name.replace(" score", "")] = float(value)
    hd = monai_metrics.HausdorffDistanceMetric(include_background=True, percentile=95)
    out["hd95"] = float(hd(p, t, spacing=list(spacing))[0, 0])
    asd = monai_metrics.SurfaceDistanceMetric(include_background=True, symmetric=True)
    out["assd"] = float(asd(p, t, spacing=list(spacing))[0, 0])
    return out


@pytest.mark.parametrize(("seed", "spacing"), [(0, (1.0, 1.0, 1.0)), (1, (0.8, 1.2, 3.0))])
def test_matches_monai_on_random_masks(seed: int, spacing: tuple[float, float, float]) -> None:
    truth = random_blobs((40, 44, 36), n=8, seed=seed)
    pred = random_blobs((40, 44, 36), n=8, seed=seed + 100) | np.roll(truth, 2, axis=seed)
    ours = voxel_metrics(pred, truth, spacing=spacing)
    ref = monai_reference(pred, truth, spacing)
    for key, value in ref.items():
        assert ours[key] == pytest.approx(value, rel=1e-4, abs=1e-5), key


def test_matches_monai_on_real_mask_crop(shared_data) -> None:
    path = next(
        (shared_data / "real/open_ms_data/cross_sectional/MNI").glob(
            "patient19/GOLD_STANDARD_*.nii.gz"
        )
    )
    full = np.asarray(nib.load(str(path)).dataobj) > 0
    centre = np.argwhere(full).mean(0).astype(int)
    crop = tuple(slice(c - 24, c + 24) for c in centre)
    truth = full[crop].astype(np.uint8)
    assert truth.sum() > 100  # the crop holds real lesions
    pred = np.roll(truth, (1, -1, 0), axis=(0, 1, 2))
    pred[::7] = 0  # carve gaps so the prediction differs in shape, not only in position
    ours = voxel_metrics(pred, truth, spacing=(1.0, 1.0, 1.0))
    ref = monai_reference(pred, truth, (1.0, 1.0, 1.0))
    for key, value in ref.items():
        assert ours[key] == pytest.approx(value, rel=1e-4, abs=1e-5), key


def test_mask_against_itself_is_perfect() -> None:
    truth = random_blobs((30, 30, 30), n=6, seed=3)
    m = voxel_metrics(truth, truth, spacing=(1.0, 2.0, 1.5))
    for key in ("dice", "iou", "f1", "ndsc", "sensitivity", "precision", "specificity", "accuracy"):
        assert m[key] == 1.0, key
    assert m["hd95"] == 0.0 and m["assd"] == 0.0
    assert m["fp"] == 0 and m["fn"] == 0
    assert m["volume_truth_mm3"] == pytest.approx(truth.sum() * 3.0)


@pytest.mark.parametrize("spacing_x", [1.0, 2.0])
def test_shifted_cube_has_known_dice_and_distance(spacing_x: float) -> None:
    n, shift = 10, 2
    truth = cube((20, 16, 16), (3, 3, 3), n)
    pred = np.roll(truth, shift, axis=0)
    m = voxel_metrics(pred, truth, spacing=(spacing_x, 1.0, 1.0))
    assert m["dice"] == pytest.approx((n - shift) / n)
    assert m["iou"] == pytest.approx((n - shift) / (n + shift))
    # The farthest surface voxel is exactly `shift` voxels away along x.
    full_hd = surface_metrics(pred, truth, (spacing_x, 1.0, 1.0), percentile=100)["hd95"]
    assert full_hd == pytest.approx(shift * spacing_x)
    assert 0 < m["hd95"] <= shift * spacing_x + 1e-9
    assert m["abs_volume_diff_mm3"] == 0.0


def test_empty_masks_have_documented_values() -> None:
    empty = np.zeros((8, 8, 8), np.uint8)
    some = cube((8, 8, 8), (2, 2, 2), 2)
    both = voxel_metrics(empty, empty)
    assert both["dice"] == 1.0 and both["iou"] == 1.0 and both["ndsc"] == 1.0
    assert both["hd95"] == 0.0 and both["rel_volume_diff"] == 0.0
    assert math.isnan(both["sensitivity"]) and math.isnan(both["precision"])
    no_pred = voxel_metrics(empty, some)
    assert no_pred["dice"] == 0.0 and no_pred["sensitivity"] == 0.0
    assert math.isnan(no_pred["hd95"]) and math.isnan(no_pred["precision"])
    no_truth = voxel_metrics(some, empty)
    assert no_truth["dice"] == 0.0 and no_truth["ndsc"] == 0.0
    assert math.isnan(no_truth["sensitivity"]) and math.isnan(no_truth["rel_volume_diff"])


def test_brain_mask_excludes_outside_voxels() -> None:
    truth = cube((12, 12, 12), (2, 2, 2), 3)
    pred = truth | cube((12, 12, 12), (9, 9, 9), 2)  # false positive outside the brain
    brain = cube((12, 12, 12), (0, 0, 0), 7)
    assert voxel_metrics(pred, truth)["fp"] == 8
    inside = voxel_metrics(pred, truth, brain_mask=brain)
    assert inside["fp"] == 0 and inside["dice"] == 1.0
    assert inside["tp"] + inside["tn"] == brain.sum()


def test_confusion_counts_and_volumes_with_spacing() -> None:
    truth = cube((6, 6, 6), (0, 0, 0), 2)  # 8 voxels
    pred = cube((6, 6, 6), (1, 0, 0), 2)  # 4 overlap
    tp, fp, tn, fn = confusion_counts(pred, truth)
    assert (tp, fp, fn, tn) == (4, 4, 4, 216 - 12)
    m = voxel_metrics(pred, truth, spacing=(2.0, 1.0, 0.5))  # 1 mm^3 voxels
    assert m["volume_pred_mm3"] == 8.0 and m["volume_diff_mm3"] == 0.0
    assert m["precision"] == 0.5 and m["specificity"] == pytest.approx(tn / (tn + fp))


def test_ndsc_equals_dice_at_the_reference_load() -> None:
    truth = np.zeros((10, 10, 10), np.uint8)  # 1000 voxels
    truth[5, 5, 5] = 1  # load h = 0.001 = r, so k = 1
    pred = truth.copy()
    pred[0, 0, :3] = 1
    m = voxel_metrics(pred, truth, ndsc_reference_load=0.001)
    assert m["ndsc"] == pytest.approx(m["dice"])
    # A 10x larger reference load down-weights false positives: nDSC rises above Dice.
    assert voxel_metrics(pred, truth, ndsc_reference_load=0.01)["ndsc"] > m["dice"]


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="shape"):
        voxel_metrics(np.zeros((4, 4, 4)), np.zeros((4, 4, 5)))
