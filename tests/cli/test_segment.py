"""`mslesion segment` end to end: native and MNI input, batches, manifests, BIDS, failures."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "infer"))
from segment_phantom import dice, mni_phantom, native_phantom, threshold_checkpoint  # noqa: E402

from mslesion.cli.main import run  # noqa: E402
from mslesion.models.checkpoint import save_checkpoint  # noqa: E402
from mslesion.preprocess import templates  # noqa: E402


def invoke(monkeypatch: pytest.MonkeyPatch, *args: str | Path) -> int:
    monkeypatch.setattr(sys, "argv", ["mslesion", "segment", *map(str, args)])
    try:
        run()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def read_summary(outdir: Path) -> dict[str, dict[str, str]]:
    with open(outdir / "summary.csv", newline="") as fh:
        return {row["case"]: row for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("segment_inputs")
    ph = native_phantom()
    nib.save(nib.Nifti1Image(ph.flair, ph.affine), root / "nat_FLAIR.nii.gz")
    nib.save(nib.Nifti1Image(ph.lesions, ph.affine), root / "nat_truth.nii.gz")
    (root / "bad_FLAIR.nii.gz").write_bytes(b"not a nifti at all")
    # skull-stripped scan on the 1 mm MNI box (pass-through): the 2 mm phantom, upsampled
    image, lesions, _ = mni_phantom(2.0)
    brain = templates.brain_mask_on_grid(2.0)
    up = np.repeat(np.repeat(np.repeat(np.where(brain, image, 0), 2, 0), 2, 1), 2, 2)[
        :182, :218, :182
    ]
    nib.save(
        nib.Nifti1Image((up * 200).astype(np.float32), templates.MNI_AFFINE),
        root / "mni_FLAIR.nii.gz",
    )
    save_checkpoint(root / "model.pt", threshold_checkpoint())
    return {
        "root": root,
        "nat": root / "nat_FLAIR.nii.gz",
        "bad": root / "bad_FLAIR.nii.gz",
        "mni": root / "mni_FLAIR.nii.gz",
        "model": root / "model.pt",
        "truth": root / "nat_truth.nii.gz",
    }


@pytest.fixture(scope="module")
def batch_run(
    inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, Path]:
    out = tmp_path_factory.mktemp("segment_out1")
    with pytest.MonkeyPatch.context() as mp:
        code = invoke(
            mp, inputs["nat"], inputs["bad"], "-o", out, "--model", inputs["model"], "--uncertainty"
        )
    return code, out


def test_batch_with_bad_input(batch_run: tuple[int, Path]) -> None:
    code, out = batch_run
    assert code == 1
    summary = read_summary(out)
    assert summary["bad"]["status"] == "failed" and "bad_FLAIR.nii.gz" in summary["bad"]["error"]
    assert summary["nat"]["status"] == "ok" and int(summary["nat"]["lesion_count"]) == 4
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "nat_lesion_mask.nii.gz",
            "nat_lesion_prob.nii.gz",
            "nat_lesion_uncertainty.nii.gz",
            "nat_lesions.csv",
            "nat_overview.png",
            "summary.csv",
        ]
    )  # nothing partial for "bad"


def test_native_outputs_on_input_grid_and_on_lesions(
    batch_run: tuple[int, Path], inputs: dict[str, Path]
) -> None:
    _, out = batch_run
    src = nib.load(inputs["nat"])
    mask = nib.load(out / "nat_lesion_mask.nii.gz")
    prob = nib.load(out / "nat_lesion_prob.nii.gz")
    for img in (mask, prob):
        assert img.shape == src.shape
        np.testing.assert_allclose(img.affine, src.affine, atol=1e-5)
    assert mask.get_data_dtype() == np.uint8 and prob.get_data_dtype() == np.float32
    truth = np.asanyarray(nib.load(inputs["truth"]).dataobj)
    assert dice(np.asanyarray(mask.dataobj), truth) > 0.6
    with open(out / "nat_lesions.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    total = sum(float(r["volume_mm3"]) for r in rows)
    vox_mm3 = abs(np.linalg.det(src.affine[:3, :3]))
    assert total == pytest.approx(np.asanyarray(mask.dataobj).sum() * vox_mm3)
    assert float(read_summary(out)["nat"]["total_volume_mm3"]) == pytest.approx(total)


def test_two_runs_give_identical_masks(batch_run, inputs, tmp_path, monkeypatch) -> None:
    _, out1 = batch_run
    assert invoke(monkeypatch, inputs["nat"], "-o", tmp_path, "--model", inputs["model"]) == 0
    a = np.asanyarray(nib.load(out1 / "nat_lesion_mask.nii.gz").dataobj)
    b = np.asanyarray(nib.load(tmp_path / "nat_lesion_mask.nii.gz").dataobj)
    np.testing.assert_array_equal(a, b)


def test_manifest_and_bids_inputs(inputs, tmp_path, monkeypatch) -> None:
    manifest = tmp_path / "cases.csv"
    manifest.write_text(f"case_id,flair\nmnicase,{inputs['mni']}\n")
    bids = tmp_path / "bids"
    anat = bids / "sub-01" / "ses-1" / "anat"
    anat.mkdir(parents=True)
    (anat / "sub-01_ses-1_FLAIR.nii.gz").symlink_to(inputs["mni"])
    out = tmp_path / "out"
    assert (
        invoke(
            monkeypatch,
            manifest,
            bids,
            "-o",
            out,
            "--model",
            inputs["model"],
            "--min-lesion-size",
            "20",
        )
        == 0
    )
    summary = read_summary(out)
    assert summary["mnicase"]["status"] == "ok" and summary["sub-01_ses-1"]["status"] == "ok"
    assert int(summary["mnicase"]["lesion_count"]) == 4
    deriv = out / "derivatives" / "mslesion" / "sub-01" / "ses-1" / "anat"
    assert (deriv / "sub-01_ses-1_space-orig_desc-lesion_mask.nii.gz").is_file()
    assert (deriv / "sub-01_ses-1_space-orig_desc-lesion_probseg.nii.gz").is_file()
    assert (out / "derivatives" / "mslesion" / "dataset_description.json").is_file()
    a = np.asanyarray(nib.load(out / "mnicase_lesion_mask.nii.gz").dataobj)
    b = np.asanyarray(nib.load(deriv / "sub-01_ses-1_space-orig_desc-lesion_mask.nii.gz").dataobj)
    np.testing.assert_array_equal(a, b)
    # existing outputs are kept unless --overwrite
    assert invoke(monkeypatch, manifest, "-o", out, "--model", inputs["model"]) == 2


def test_model_errors_exit_2(inputs, tmp_path, monkeypatch, capsys) -> None:
    assert (
        invoke(monkeypatch, inputs["mni"], "-o", tmp_path / "a", "--model", tmp_path / "none.pt")
        == 2
    )
    assert "model file not found" in capsys.readouterr().err
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00" * 2048)
    assert invoke(monkeypatch, inputs["mni"], "-o", tmp_path / "b", "--model", corrupt) == 2
    assert "corrupt" in capsys.readouterr().err
    assert invoke(monkeypatch, inputs["mni"], "-o", tmp_path / "c", "--model", "nosuchmodel") == 2
    err = capsys.readouterr().err
    assert "no shipped model named 'nosuchmodel'" in err and "Traceback" not in err
    assert not (tmp_path / "a").exists()
