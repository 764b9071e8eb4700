"""Triptych and Dice-vs-load figures: files written, layout, slice choice, no overwrite."""

from __future__ import annotations

import numpy as np
import pytest

from mslesion.errors import OutputExistsError
from mslesion.io.nifti import NiftiVolume
from mslesion.report.figures import default_slices, plot_dice_vs_load, plot_triptych, trend_line

mpl_image = pytest.importorskip("matplotlib.image")


def small_case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    flair = np.random.default_rng(0).uniform(0.2, 0.5, (20, 24, 16)).astype(np.float32)
    truth = np.zeros(flair.shape, np.uint8)
    truth[5:9, 10:14, 3:6] = 1
    pred = np.roll(truth, 1, axis=0)
    return flair, truth, pred


def test_triptych_writes_png_and_refuses_overwrite(tmp_path) -> None:
    flair, truth, pred = small_case()
    out = plot_triptych(flair, truth, pred, tmp_path / "t.png", title="case")
    img = mpl_image.imread(out)
    assert img.ndim == 3 and img.shape[0] > 500 and img.shape[1] > 500
    with pytest.raises(OutputExistsError):
        plot_triptych(flair, truth, pred, out)
    plot_triptych(flair, truth, pred, out, slices=(0, 0, 0), overwrite=True)


def test_triptych_accepts_volumes_with_affine(tmp_path) -> None:
    flair, truth, pred = small_case()
    affine = np.diag([-1.0, 1.0, 2.0, 1.0])  # LAS, anisotropic
    vols = [NiftiVolume(a, affine, None) for a in (flair, truth, pred)]  # type: ignore[arg-type]
    assert plot_triptych(*vols, tmp_path / "v.png").stat().st_size > 0


def test_triptych_rejects_mismatched_shapes(tmp_path) -> None:
    flair, truth, _ = small_case()
    with pytest.raises(ValueError, match="shapes differ"):
        plot_triptych(flair, truth, truth[:-1], tmp_path / "x.png")


def test_default_slices_pick_the_most_lesioned_slices() -> None:
    truth = np.zeros((10, 10, 10), np.uint8)
    # Three lines crossing at (2, 4, 7), plus a stray voxel elsewhere.
    truth[2, 4, 5:9] = 1
    truth[2, 2:7, 7] = 1
    truth[0:5, 4, 7] = 1
    truth[8, 8, 1] = 1
    assert default_slices(truth, np.zeros_like(truth)) == (2, 4, 7)
    assert default_slices(np.zeros_like(truth), truth) == (2, 4, 7)  # falls back to prediction
    assert default_slices(np.zeros_like(truth), np.zeros_like(truth)) == (5, 5, 5)


def test_trend_line_and_scatter(tmp_path) -> None:
    x = np.array([1.0, 2.0, 3.0])
    assert trend_line(x, 2 * x + 1) == pytest.approx((2.0, 1.0))
    assert trend_line(np.ones(3), x) is None
    points = {"a": [(100.0, 0.5), (1000.0, 0.7), (0.0, 0.9)], "b": [(300.0, float("nan"))]}
    out = plot_dice_vs_load(points, tmp_path / "s.png")
    assert mpl_image.imread(out).shape[2] in (3, 4)
