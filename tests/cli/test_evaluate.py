"""`mslesion evaluate` end to end on tiny files (pairing rules: tests/metrics/test_pairing.py)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from mslesion.cli.evaluate import Outputs, RunSpec, run_evaluation
from mslesion.errors import InputError, OutputExistsError
from mslesion.metrics.case import EvalConfig

AFFINE = np.diag([-1.0, 1.0, 1.0, 1.0])


def save(path: Path, data: np.ndarray, affine: np.ndarray = AFFINE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return path


def box(corner: tuple[int, int, int], size: int, shape=(16, 16, 16)) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    out[tuple(slice(c, c + size) for c in corner)] = 1
    return out


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """truth/, pred/, other/, prob/, flair/ for two cases c1 (perfect) and c2 (half found)."""
    t1, t2 = box((2, 2, 2), 4), box((3, 3, 3), 4) | box((10, 10, 10), 4)
    save(tmp_path / "truth/c1_mask.nii.gz", t1)
    save(tmp_path / "truth/c2_mask.nii.gz", t2)
    save(tmp_path / "pred/c1_pred.nii.gz", t1)
    save(tmp_path / "pred/c2_pred.nii.gz", box((3, 3, 3), 4))
    save(tmp_path / "other/c1_seg.nii.gz", np.zeros_like(t1))
    save(tmp_path / "other/c2_seg.nii.gz", t2)
    save(tmp_path / "prob/c1_prob.nii.gz", t1 * np.float32(0.9))
    save(tmp_path / "prob/c2_prob.nii.gz", box((3, 3, 3), 4) * np.float32(0.8))
    rng = np.random.default_rng(0)
    for case in ("c1", "c2"):
        save(
            tmp_path / f"flair/{case}_FLAIR.nii.gz",
            rng.uniform(0.1, 1, (16, 16, 16)).astype(np.float32),
        )
    return tmp_path


def mslesion(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mslesion", "evaluate", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
    )


def test_end_to_end_two_methods(dataset: Path) -> None:
    result = mslesion(
        "pred", "truth", "--probabilities", "prob", "--method", "other=other",
        "-o", "out/metrics.csv", cwd=dataset,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with (dataset / "out/metrics.csv").open() as fh:
        rows = {(r["method"], r["case"]): r for r in csv.DictReader(fh)}
    assert float(rows[("pred", "c1")]["dice"]) == 1.0
    assert float(rows[("pred", "c2")]["dice"]) == pytest.approx(2 * 64 / (64 + 128))
    assert float(rows[("pred", "c2")]["lesion_tpr"]) == 0.5
    assert float(rows[("other", "c1")]["dice"]) == 0.0
    assert rows[("pred", "c1")]["voxel_ap"] == "1" and rows[("other", "c1")]["voxel_ap"] == ""
    summary = (dataset / "out/summary.md").read_text()
    assert "| pred | 0.833 ± 0.236 |" in summary  # mean/std of Dice 1.0 and 0.667
    assert "| other |" in summary
    assert (dataset / "out/summary.csv").exists() and (dataset / "out/metrics_lesions.csv").exists()


def test_figures_with_flair(dataset: Path) -> None:
    figures = dataset / "figs"
    run_evaluation(
        spec(
            dataset,
            flair=dataset / "flair",
            outputs=Outputs.from_option(dataset / "o/m.csv", figures),
        )
    )
    names = sorted(p.name for p in figures.iterdir())
    assert names == ["c1_pred_triptych.png", "c2_pred_triptych.png", "dice_vs_load.png"]


def test_unpaired_case_is_a_one_line_error(dataset: Path) -> None:
    (dataset / "pred/c2_pred.nii.gz").rename(dataset / "pred/c3_pred.nii.gz")
    result = mslesion("pred", "truth", "-o", "m.csv", cwd=dataset)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "c2" in lines[0] and "Traceback" not in result.stderr
    assert not (dataset / "m.csv").exists()


def spec(root: Path, **kw) -> RunSpec:
    base = dict(
        methods={"pred": root / "pred"},
        truth=root / "truth",
        brain_mask=None,
        probabilities=None,
        flair=None,
        outputs=Outputs.from_option(root / "o/m.csv", None),
        config=EvalConfig(),
    )
    return RunSpec(**{**base, **kw})


def test_grid_mismatch_names_the_file(dataset: Path) -> None:
    save(dataset / "pred/c1_pred.nii.gz", box((2, 2, 2), 4), np.diag([2.0, 1.0, 1.0, 1.0]))
    with pytest.raises(InputError, match="c1_pred.nii.gz: grid differs"):
        run_evaluation(spec(dataset))


def test_single_brain_mask_applies_to_all_cases(dataset: Path) -> None:
    brain = save(dataset / "brain.nii.gz", box((0, 0, 0), 9))  # hides c2's second lesion
    rows = run_evaluation(spec(dataset, brain_mask=brain))
    by_case = {r["case"]: r for r in rows}
    assert by_case["c2"]["dice"] == 1.0 and by_case["c2"]["n_true"] == 1


def test_existing_output_is_refused_before_work(dataset: Path) -> None:
    (dataset / "o").mkdir()
    (dataset / "o/summary.md").write_text("keep")
    with pytest.raises(OutputExistsError):
        run_evaluation(spec(dataset))
    assert (dataset / "o/summary.md").read_text() == "keep"


def test_dataset_truth_pairs_with_segment_names(tmp_path: Path) -> None:
    """open_ms_data names every mask GOLD_STANDARD_...: by file name the masks can only be told
    apart by folder, yet `segment` writes <patient>_lesion_mask; a mask-only patient (no FLAIR,
    so no prediction) is left out with a note instead of failing the pairing."""
    real = tmp_path / "real"
    truths = {"patient01": box((2, 2, 2), 4), "patient02": box((8, 8, 8), 5)}
    for name, mask in truths.items():
        save(real / name / "FLAIR_preprocessed.nii.gz", mask.astype(np.float32) + 0.5)
        save(real / name / "GOLD_STANDARD_reg.nii.gz", mask)
    save(real / "patient03" / "GOLD_STANDARD_reg.nii.gz", box((1, 1, 1), 3))
    save(tmp_path / "pred/patient01_lesion_mask.nii.gz", truths["patient01"])
    save(tmp_path / "pred/patient02_lesion_mask.nii.gz", np.zeros((16, 16, 16), np.uint8))
    result = mslesion("pred", "real", "-o", "out/m.csv", "--figures", "figs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 item(s) left out" in result.stderr
    with (tmp_path / "out/m.csv").open() as fh:
        dice = {r["case"]: float(r["dice"]) for r in csv.DictReader(fh)}
    assert dice == {"patient01": 1.0, "patient02": 0.0}
    # the dataset's own FLAIRs feed the triptychs when --flair is not given
    assert (tmp_path / "figs/patient01_pred_triptych.png").exists()


def test_dataset_truth_still_names_a_missing_prediction(tmp_path: Path) -> None:
    real = tmp_path / "real"
    for name in ("patient01", "patient02"):
        save(real / name / "FLAIR_preprocessed.nii.gz", np.ones((16, 16, 16), np.float32))
        save(real / name / "GOLD_STANDARD_reg.nii.gz", box((2, 2, 2), 4))
    save(tmp_path / "pred/patient01_lesion_mask.nii.gz", box((2, 2, 2), 4))
    save(tmp_path / "pred/patient07_lesion_mask.nii.gz", box((2, 2, 2), 4))
    result = mslesion("pred", "real", "-o", "m.csv", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "patient02" in lines[0], result.stderr
