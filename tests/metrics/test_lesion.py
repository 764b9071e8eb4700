"""Lesion-wise metrics on hand-built cases whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from metric_masks import cube, random_blobs

from mslesion.errors import ConfigError
from mslesion.metrics.lesion import (
    LesionConfig,
    Matching,
    label_lesions,
    lesion_metrics,
    lesion_shape,
    lesion_table,
    match_lesions,
    min_size_voxels_for,
    thin_share,
)

SHAPE = (30, 30, 30)


def boxes(*specs: tuple[tuple[int, int, int], int | tuple[int, int, int]]) -> np.ndarray:
    out = np.zeros(SHAPE, np.uint8)
    for corner, size in specs:
        out |= cube(SHAPE, corner, size)
    return out


def test_label_lesions_counts_components_and_returns_int32() -> None:
    mask = boxes(((1, 1, 1), 3), ((10, 10, 10), 2), ((20, 2, 5), (1, 4, 2)))
    labels, n = label_lesions(mask)
    assert n == 3 and labels.dtype == np.int32
    assert sorted(np.bincount(labels.ravel())[1:]) == [8, 8, 27]


@pytest.mark.parametrize(
    ("connectivity", "corner_n", "edge_n"), [(6, 2, 2), (18, 2, 1), (26, 1, 1)]
)
def test_touching_lesions_depend_on_connectivity(
    connectivity: int, corner_n: int, edge_n: int
) -> None:
    corner_touch = boxes(((2, 2, 2), 2), ((4, 4, 4), 2))  # share only a corner
    edge_touch = boxes(((2, 2, 2), 2), ((4, 4, 2), 2))  # share an edge
    assert label_lesions(corner_touch, connectivity)[1] == corner_n
    assert label_lesions(edge_touch, connectivity)[1] == edge_n


def test_min_size_drops_small_lesions_in_mm3() -> None:
    mask = boxes(((1, 1, 1), 3), ((10, 10, 10), 1))  # 27 and 1 voxels
    assert label_lesions(mask, min_size_voxels=2)[1] == 1
    assert min_size_voxels_for(10.0, (2.0, 1.0, 1.0)) == 5  # 5 voxels x 2 mm^3 = 10 mm^3
    cfg = LesionConfig(min_size_mm3=3.0)
    m = lesion_metrics(mask, mask, spacing=(1.0, 1.0, 1.0), config=cfg)
    assert m["n_true"] == 1 and m["n_pred"] == 1


def test_missed_and_spurious_lesions() -> None:
    truth = boxes(((2, 2, 2), 3), ((12, 12, 12), 3))
    pred = boxes(((2, 2, 2), 3), ((22, 22, 22), 2), ((22, 2, 2), 2))  # 1 hit, 2 spurious
    m = lesion_metrics(pred, truth)
    assert (m["n_true"], m["n_pred"], m["n_detected"], m["n_missed"]) == (2, 3, 1, 1)
    assert m["n_fp_pred"] == 2
    assert m["lesion_tpr"] == 0.5
    assert m["lesion_fpr"] == pytest.approx(2 / 3)  # FPL / (TPL + FPL)
    assert m["lesion_precision"] == pytest.approx(1 / 3)
    assert m["lesion_f1"] == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))


def test_split_lesion_any_overlap_vs_one_to_one_iou() -> None:
    truth = boxes(((2, 2, 2), (10, 4, 4)))  # one 160-voxel lesion
    pred = boxes(((2, 2, 2), (4, 4, 4)), ((8, 2, 2), (4, 4, 4)))  # split in two halves of 64
    any_m = lesion_metrics(pred, truth)
    assert any_m["n_pred"] == 2 and any_m["lesion_tpr"] == 1.0 and any_m["lesion_fpr"] == 0.0
    # Each half has IoU 64/160 = 0.4 with the truth; one-to-one keeps only one of them.
    iou_m = lesion_metrics(pred, truth, config=LesionConfig(matching=Matching("iou", 0.3)))
    assert iou_m["lesion_tpr"] == 1.0 and iou_m["n_tp_pred"] == 1 and iou_m["lesion_fpr"] == 0.5
    strict = lesion_metrics(pred, truth, config=LesionConfig(matching=Matching.parse("iou:0.5")))
    assert strict["lesion_tpr"] == 0.0 and strict["n_fp_pred"] == 2


def test_merged_lesions() -> None:
    truth = boxes(((2, 2, 2), 3), ((7, 2, 2), 3))  # two lesions 2 voxels apart
    pred = boxes(((2, 2, 2), (8, 3, 3)))  # one prediction bridging both
    m = lesion_metrics(pred, truth)
    assert (m["n_true"], m["n_pred"], m["lesion_tpr"], m["lesion_precision"]) == (2, 1, 1.0, 1.0)
    one_to_one = lesion_metrics(pred, truth, config=LesionConfig(matching="iou:0.1"))
    assert one_to_one["n_detected"] == 1 and one_to_one["n_missed"] == 1


def test_fraction_matching_uses_coverage() -> None:
    truth = boxes(((2, 2, 2), (10, 2, 2)), ((2, 10, 2), (10, 2, 2)))
    pred = boxes(((2, 2, 2), (6, 2, 2)), ((2, 10, 2), (3, 2, 2)))  # covers 60% and 30%
    m = lesion_metrics(pred, truth, config=LesionConfig(matching=Matching.parse("fraction:0.5")))
    assert m["n_detected"] == 1 and m["n_missed"] == 1
    # Every predicted voxel lies inside truth: both predictions count as true.
    assert m["n_tp_pred"] == 2
    assert lesion_metrics(pred, truth)["n_detected"] == 2


def test_size_split_uses_bounding_box_voxels() -> None:
    truth = boxes(((1, 1, 1), 2), ((10, 10, 10), 12))  # box 8 (small) and 1728 (large)
    pred = boxes(((10, 10, 10), 12))
    m = lesion_metrics(pred, truth)
    assert m["n_true_small"] == 1 and m["n_true_large"] == 1
    assert m["lesion_tpr_small"] == 0.0 and m["lesion_tpr_large"] == 1.0
    assert math.isnan(m["lesion_fpr_small"])  # no small predicted lesion: undefined


def test_empty_cases() -> None:
    empty = np.zeros(SHAPE, np.uint8)
    some = boxes(((2, 2, 2), 3))
    both = lesion_metrics(empty, empty)
    assert (
        both["lesion_f1"] == 1.0
        and math.isnan(both["lesion_tpr"])
        and math.isnan(both["lesion_fpr"])
    )
    missed = lesion_metrics(empty, some)
    assert missed["lesion_tpr"] == 0.0 and missed["lesion_f1"] == 0.0 and missed["n_missed"] == 1
    spurious = lesion_metrics(some, empty)
    assert spurious["lesion_fpr"] == 1.0 and spurious["lesion_f1"] == 0.0


def test_mask_against_itself_and_shifted_copy() -> None:
    truth = random_blobs(SHAPE, n=10, seed=5)
    n = label_lesions(truth)[1]
    same = lesion_metrics(truth, truth, config=LesionConfig(matching="iou:0.99"))
    assert same["n_true"] == n and same["lesion_tpr"] == 1.0 and same["lesion_fpr"] == 0.0
    shifted = lesion_metrics(np.roll(truth, 1, axis=0), truth)
    assert shifted["lesion_tpr"] == 1.0  # a 1-voxel shift keeps every blob (radius >= 1.5) touching


def test_lesion_table_rows() -> None:
    truth = boxes(((2, 2, 2), 3), ((20, 20, 20), 2))
    pred = boxes(((2, 2, 2), 3))
    prob = np.where(pred > 0, 0.8, 0.1).astype(np.float32)
    match = match_lesions(pred, truth, spacing=(2.0, 1.0, 1.0))
    rows = lesion_table(match, spacing=(2.0, 1.0, 1.0), prob=prob)
    truth_rows = [r for r in rows if r["set"] == "truth"]
    assert [r["volume_mm3"] for r in truth_rows] == [54.0, 16.0]
    assert [r["matched"] for r in truth_rows] == [True, False]
    assert (truth_rows[0]["centroid_x"], truth_rows[0]["best_iou"]) == (3.0, 1.0)
    pred_rows = [r for r in rows if r["set"] == "pred"]
    assert pred_rows[0]["score"] == pytest.approx(0.8)


@pytest.mark.parametrize("text", ["iou", "iou:0", "fraction:2", "dice:0.5"])
def test_bad_matching_text_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError):
        Matching.parse(text)


def test_bad_connectivity_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        LesionConfig(connectivity=8)
    with pytest.raises(ConfigError):
        lesion_metrics(np.zeros(SHAPE), np.zeros(SHAPE), connectivity=4)


def test_keyword_overrides_match_config() -> None:
    corner_touch = boxes(((2, 2, 2), 2), ((4, 4, 4), 2))
    via_kw = lesion_metrics(corner_touch, corner_touch, connectivity=6, matching="iou:0.5")
    via_cfg = lesion_metrics(
        corner_touch, corner_touch, config=LesionConfig(connectivity=6, matching="iou:0.5")
    )
    assert via_kw == pytest.approx(via_cfg, nan_ok=True) and via_kw["n_true"] == 2


def test_lesion_shape_tells_balls_from_ovoids_and_lobed_lesions() -> None:
    grid = np.mgrid[:41, :41, :41].astype(float) - 20.0
    ball = np.argwhere((grid**2).sum(0) <= 36)
    ovoid = np.argwhere((grid[0] / 9) ** 2 + (grid[1] / 3) ** 2 + (grid[2] / 3) ** 2 <= 1)
    elong, fill = lesion_shape(ball)
    assert elong == pytest.approx(1.0, abs=0.05) and fill == pytest.approx(1.0, abs=0.1)
    elong, fill = lesion_shape(ovoid)
    assert elong == pytest.approx(3.0, rel=0.15) and fill == pytest.approx(1.0, abs=0.1)
    # two balls side by side: elongated, and far from filling their moment ellipsoid
    twins = np.concatenate([ball - [8, 0, 0], ball + [8, 0, 0]])
    elong, fill = lesion_shape(twins)
    assert elong > 1.8 and fill < 0.8


def test_thin_share_counts_the_parts_too_narrow_for_the_ball() -> None:
    grid = np.mgrid[:31, :31, :31] - 15
    blob = (grid**2).sum(0) <= 36  # radius 6: holds the radius-2 ball everywhere but its rim
    rod = (grid[1] ** 2 + grid[2] ** 2 <= 1) & (np.abs(grid[0]) <= 12)  # 3 voxels across
    assert thin_share(blob) < 0.1
    assert thin_share(rod) == 1.0
    # the blob with the rod as a spike: the spike's voxels are the thin share
    spiky = blob | (rod & (grid[0] > 0))
    expected = (spiky & ~blob).sum() / spiky.sum()
    assert thin_share(spiky) == pytest.approx(expected, abs=0.05)
    # a ball wider than the blob finds all of it thin
    assert thin_share(blob, radius_vox=7) == 1.0
