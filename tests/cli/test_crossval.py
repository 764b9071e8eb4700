"""`mslesion crossval`: each fold's model scored on the subjects its config held out."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "infer"))
from segment_phantom import mni_phantom, threshold_checkpoint  # noqa: E402

from mslesion.cli.main import run  # noqa: E402
from mslesion.models.checkpoint import save_checkpoint  # noqa: E402
from mslesion.preprocess import templates  # noqa: E402
from mslesion.train.config import dump_config, load_config  # noqa: E402


def invoke(monkeypatch: pytest.MonkeyPatch, capsys, *args: str | Path) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["mslesion", "crossval", *map(str, args)])
    code = 0
    try:
        run()
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture(scope="module")
def folds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two skull-stripped 1 mm MNI cases (flat layout) and two fold runs, each holding one out."""
    root = tmp_path_factory.mktemp("crossval")
    data = root / "data"
    data.mkdir()
    image, lesions, _ = mni_phantom(2.0)
    brain = templates.brain_mask_on_grid(2.0)

    def up(a: np.ndarray) -> np.ndarray:
        return np.repeat(np.repeat(np.repeat(a, 2, 0), 2, 1), 2, 2)[:182, :218, :182]

    for k, case in enumerate(("case001", "case002")):
        flair = up(np.where(brain, image, 0)) * (200 + 100 * k)
        nib.save(
            nib.Nifti1Image(flair.astype(np.float32), templates.MNI_AFFINE),
            data / f"{case}_FLAIR.nii.gz",
        )
        nib.save(
            nib.Nifti1Image(up(lesions).astype(np.uint8), templates.MNI_AFFINE),
            data / f"{case}_mask.nii.gz",
        )
    runs = root / "runs"
    for k, case in enumerate(("case001", "case002")):
        run_dir = runs / f"fold{k}"
        run_dir.mkdir(parents=True)
        cfg = load_config(None, [f"split.val_subjects=[{case}]"])
        (run_dir / "config.yaml").write_text(dump_config(cfg))
        save_checkpoint(run_dir / "last.pt", threshold_checkpoint())
    return {"data": data, "runs": runs, "root": root}


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_scores_each_fold_on_its_held_out_case_under_degradations(monkeypatch, capsys, folds):
    out = folds["root"] / "report"
    code, text = invoke(
        monkeypatch,
        capsys,
        f"thr={folds['runs']}",
        "--data",
        folds["data"],
        "-o",
        out,
        "--degrade",
        "clean",
        "--degrade",
        "scale:3",
        "--degrade",
        "noise:3",
    )
    assert code == 0, text
    rows = _rows(out / "cases.csv")
    assert sorted((r["fold"], r["case"]) for r in rows if r["degradation"] == "clean") == [
        ("fold0", "case001"),
        ("fold1", "case002"),
    ]
    dice = {(r["case"], r["degradation"]): float(r["dice"]) for r in rows}
    for case in ("case001", "case002"):
        assert dice[(case, "clean")] > 0.8
        # min-max normalisation makes a global intensity factor invisible to the model
        assert dice[(case, "scale:3")] == pytest.approx(dice[(case, "clean")], abs=1e-6)
        # heavy noise (SNR 3) lifts tissue voxels over the fixed level: Dice drops
        assert dice[(case, "noise:3")] < dice[(case, "clean")] - 0.03
    patients = _rows(out / "patients.csv")
    assert len(patients) == 6 and {p["scans"] for p in patients} == {"1"}
    summary = (out / "summary.md").read_text()
    assert "## Robustness" in summary and "| thr | noise:3 |" in summary
    # existing outputs are not replaced unless asked
    code, text = invoke(monkeypatch, capsys, folds["runs"], "--data", folds["data"], "-o", out)
    assert code == 2 and "exists" in text


def test_unfinished_fold_and_bad_degradation_are_one_line_errors(monkeypatch, capsys, folds):
    broken = folds["root"] / "broken"
    (broken / "fold0").mkdir(parents=True)
    (broken / "fold0" / "config.yaml").write_text(
        (folds["runs"] / "fold0" / "config.yaml").read_text()
    )
    code, text = invoke(
        monkeypatch, capsys, broken, "--data", folds["data"], "-o", folds["root"] / "x"
    )
    assert code == 2 and "last.pt" in text and "Traceback" not in text
    code, text = invoke(
        monkeypatch,
        capsys,
        folds["runs"],
        "--data",
        folds["data"],
        "-o",
        folds["root"] / "y",
        "--degrade",
        "blur:2",
    )
    assert code == 2 and "unknown degradation" in text
