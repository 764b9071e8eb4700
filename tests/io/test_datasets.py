"""Dataset discovery in each layout (tiny files built here), manifests, the real folder."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from typer.testing import CliRunner

from mslesion.cli.main import app
from mslesion.errors import InputError, OutputExistsError
from mslesion.io.datasets import discover, find_cases, read_manifest, write_manifest


def _touch(path: Path, shape: tuple[int, int, int] = (4, 5, 6), value: float = 1.0) -> Path:
    """A tiny valid NIfTI file (header geometry is what discovery's table reads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.full(shape, value, dtype=np.float32)
    nib.save(nib.Nifti1Image(data, np.diag([2.0, 2.0, 3.0, 1.0])), str(path))
    return path


def _by_id(cases: list) -> dict:
    return {c.case_id: c for c in cases}


def test_open_ms_data_layout(tmp_path: Path) -> None:
    root = tmp_path / "open_ms_data" / "cross_sectional" / "MNI"
    _touch(root / "patient01" / "GOLD_STANDARD_x.nii.gz")  # mask only: not a case
    for name in ("FLAIR_x", "T1_x", "T2_x", "T1POST_x", "GOLD_STANDARD_x"):
        _touch(root / "patient02" / f"{name}.nii.gz")
    found = discover(tmp_path)
    assert [c.case_id for c in found.cases] == ["patient02"]
    case = found.cases[0]
    assert case.subject == "patient02" and case.source == "open_ms_data"
    assert case.t1 is not None and case.t1.name == "T1_x.nii.gz"  # not T1POST
    assert case.t2.name == "T2_x.nii.gz" and case.lesion_mask.name == "GOLD_STANDARD_x.nii.gz"
    assert [s.path.name for s in found.skipped] == ["patient01"]
    assert "no FLAIR" in found.skipped[0].reason


def test_single_open_ms_data_patient_folder(tmp_path: Path) -> None:
    # Given one patient's folder, its T1/T2/mask files must not become cases of their own.
    patient = tmp_path / "patient19"
    for name in ("FLAIR_x", "T1_x", "T2_x", "T1POST_x", "GOLD_STANDARD_x"):
        _touch(patient / f"{name}.nii.gz")
    cases = find_cases(patient)
    assert [c.case_id for c in cases] == ["patient19"]
    assert cases[0].flair.name == "FLAIR_x.nii.gz"
    assert cases[0].lesion_mask.name == "GOLD_STANDARD_x.nii.gz"


def test_open_ms_data_longitudinal(tmp_path: Path) -> None:
    for study in ("study1", "study2"):
        _touch(tmp_path / "patient05" / f"{study}_FLAIR.nii.gz")
    cases = find_cases(tmp_path)
    assert [(c.case_id, c.subject, c.timepoint) for c in cases] == [
        ("patient05_study1", "patient05", "study1"),
        ("patient05_study2", "patient05", "study2"),
    ]


def test_mslesseg_layout(tmp_path: Path) -> None:
    train = tmp_path / "MSLesSeg" / "train"
    for subject, tps in (("P3", ("T1", "T2")), ("P7", ("T1",))):
        for tp in tps:
            for kind in ("FLAIR", "T1", "MASK"):
                _touch(train / subject / tp / f"{subject}_{tp}_{kind}.nii.gz")
    _touch(train / "P9" / "T1" / "P9_T1_MASK.nii.gz")  # no FLAIR
    found = discover(tmp_path)
    got = [(c.case_id, c.subject, c.timepoint, c.lesion_mask.name) for c in found.cases]
    assert got == [
        ("P3_T1", "P3", "T1", "P3_T1_MASK.nii.gz"),
        ("P3_T2", "P3", "T2", "P3_T2_MASK.nii.gz"),
        ("P7_T1", "P7", "T1", "P7_T1_MASK.nii.gz"),
    ]
    assert all(c.t2 is None and c.t1 is not None for c in found.cases)
    assert len(found.skipped) == 1


def test_nnunet_layout_uses_dataset_json_channel(tmp_path: Path) -> None:
    ds = tmp_path / "Dataset501_MS"
    (ds).mkdir()
    (ds / "dataset.json").write_text(
        json.dumps({"channel_names": {"0": "T1", "1": "FLAIR"}, "file_ending": ".nii.gz"})
    )
    for case in ("ms_001", "ms_002"):
        _touch(ds / "imagesTr" / f"{case}_0000.nii.gz")
        _touch(ds / "imagesTr" / f"{case}_0001.nii.gz")
    _touch(ds / "labelsTr" / "ms_001.nii.gz")
    _touch(ds / "imagesTs" / "ms_900_0001.nii.gz")
    cases = _by_id(find_cases(tmp_path))
    assert sorted(cases) == ["ms_001", "ms_002", "ms_900"]
    assert cases["ms_001"].flair.name == "ms_001_0001.nii.gz"
    assert cases["ms_001"].lesion_mask.name == "ms_001.nii.gz"
    assert cases["ms_002"].lesion_mask is None
    assert cases["ms_900"].extra["split"] == "test" and cases["ms_001"].source == "nnunet"


def test_nnunet_without_flair_channel_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "imagesTr").mkdir()
    (tmp_path / "dataset.json").write_text(json.dumps({"modality": {"0": "T1", "1": "T2"}}))
    with pytest.raises(InputError, match="no channel named FLAIR"):
        find_cases(tmp_path)


def test_nnunet_single_channel_without_json(tmp_path: Path) -> None:
    _touch(tmp_path / "imagesTr" / "a_0000.nii.gz")
    assert [c.case_id for c in find_cases(tmp_path)] == ["a"]


def test_bids_layout_with_derivative_masks(tmp_path: Path) -> None:
    anat = tmp_path / "sub-01" / "ses-02" / "anat"
    _touch(anat / "sub-01_ses-02_FLAIR.nii.gz")
    _touch(anat / "sub-01_ses-02_T1w.nii.gz")
    _touch(tmp_path / "sub-02" / "anat" / "sub-02_FLAIR.nii.gz")
    der = tmp_path / "derivatives" / "lesions" / "sub-01" / "ses-02" / "anat"
    _touch(der / "sub-01_ses-02_label-lesion_mask.nii.gz")
    _touch(der / "sub-01_ses-02_desc-brain_mask.nii.gz")
    cases = _by_id(find_cases(tmp_path))
    assert sorted(cases) == ["sub-01_ses-02", "sub-02"]
    one = cases["sub-01_ses-02"]
    assert (one.subject, one.timepoint, one.source) == ("sub-01", "ses-02", "bids")
    assert one.t1.name == "sub-01_ses-02_T1w.nii.gz"
    assert one.lesion_mask.name == "sub-01_ses-02_label-lesion_mask.nii.gz"
    assert one.brain_mask.name == "sub-01_ses-02_desc-brain_mask.nii.gz"
    assert cases["sub-02"].lesion_mask is None and cases["sub-02"].timepoint is None


def test_flat_folder(tmp_path: Path) -> None:
    for name in (
        "c1_FLAIR",
        "c1_mask",
        "c1_brainmask",
        "c1_T1",
        "c2_FLAIR",
        "c2_lesion_mask",
        "c3_mask",
        "notes",
    ):
        _touch(tmp_path / f"{name}.nii.gz")
    found = discover(tmp_path)
    cases = _by_id(found.cases)
    assert sorted(cases) == ["c1", "c2"]
    assert cases["c1"].lesion_mask.name == "c1_mask.nii.gz"
    assert cases["c1"].brain_mask.name == "c1_brainmask.nii.gz"
    assert cases["c1"].sequences == ["FLAIR", "T1"]
    assert (
        cases["c2"].lesion_mask.name == "c2_lesion_mask.nii.gz" and cases["c2"].brain_mask is None
    )
    assert sorted(s.path.name for s in found.skipped) == ["c3_mask.nii.gz", "notes.nii.gz"]


def test_folder_of_plain_flairs(tmp_path: Path) -> None:
    for name in ("scanA.nii.gz", "scanB.nii", ".hidden.nii.gz"):
        _touch(tmp_path / name)
    cases = find_cases(tmp_path)
    assert [(c.case_id, c.lesion_mask) for c in cases] == [("scanA", None), ("scanB", None)]


def test_single_file_and_parent_of_two_layouts(tmp_path: Path) -> None:
    single = _touch(tmp_path / "flat" / "x_FLAIR.nii.gz")
    _touch(tmp_path / "bids" / "sub-7" / "anat" / "sub-7_FLAIR.nii.gz")
    assert [c.case_id for c in find_cases(single)] == ["x_FLAIR"]
    assert sorted(c.source for c in find_cases(tmp_path)) == ["bids", "flat"]


def test_duplicate_ids_across_datasets_made_unique(tmp_path: Path) -> None:
    _touch(tmp_path / "a" / "c1_FLAIR.nii.gz")
    _touch(tmp_path / "b" / "c1_FLAIR.nii.gz")
    ids = [c.case_id for c in find_cases(tmp_path)]
    assert len(set(ids)) == 2


def test_no_cases_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("nothing here")
    with pytest.raises(InputError, match="no cases with a FLAIR image"):
        find_cases(tmp_path)
    with pytest.raises(InputError, match="not found"):
        find_cases(tmp_path / "missing")
    with pytest.raises(InputError, match="expected a folder"):
        find_cases(tmp_path / "readme.txt")


# ----------------------------------------------------------------------------- manifests


def test_manifest_round_trip(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for name in ("c1_FLAIR", "c1_mask", "c2_FLAIR", "c2_T2"):
        _touch(data / f"{name}.nii.gz")
    cases = find_cases(data)
    csv_path = write_manifest(cases, tmp_path / "cases.csv")
    text = csv_path.read_text()
    assert (
        "data/c1_FLAIR.nii.gz" in text and str(tmp_path) not in text
    )  # relative inside its folder
    again = read_manifest(csv_path)
    assert again == cases
    with pytest.raises(OutputExistsError):
        write_manifest(cases, csv_path)
    assert find_cases(csv_path) == cases


def test_manifest_absolute_paths_outside_its_folder(tmp_path: Path) -> None:
    flair = _touch(tmp_path / "img" / "a_FLAIR.nii.gz")
    csv_path = write_manifest(find_cases(flair.parent), tmp_path / "sub" / "m.csv")
    assert str(flair) in csv_path.read_text()
    assert read_manifest(csv_path)[0].flair == flair


def test_manifest_minimal_columns_and_extras(tmp_path: Path) -> None:
    _touch(tmp_path / "f.nii.gz")
    (tmp_path / "m.csv").write_text("case_id,flair,site\nx,f.nii.gz,Ljubljana\n")
    (case,) = read_manifest(tmp_path / "m.csv")
    assert case.subject == "x" and case.flair == (tmp_path / "f.nii.gz").resolve()
    assert case.extra == {"site": "Ljubljana"} and case.source == "csv"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("case_id,subject\nx,y\n", "lacks column(s) flair"),
        ("subject,flair\nx,f.nii.gz\n", "lacks column(s) case_id"),
        ("case_id,flair\n", "lists no cases"),
        ("case_id,flair\nx,missing.nii.gz\n", "flair file missing.nii.gz not found"),
        (
            "case_id,flair,lesion_mask\nx,f.nii.gz,nomask.nii.gz\n",
            "lesion_mask file nomask.nii.gz not found",
        ),
        ("case_id,flair\nx,f.nii.gz\nx,f.nii.gz\n", "duplicate case_id 'x'"),
        ("case_id,flair\n,f.nii.gz\n", "empty case_id"),
    ],
)
def test_manifest_errors(tmp_path: Path, content: str, message: str) -> None:
    _touch(tmp_path / "f.nii.gz")
    path = tmp_path / "m.csv"
    path.write_text(content)
    with pytest.raises(InputError) as exc:
        read_manifest(path)
    assert message in str(exc.value) and str(path) in str(exc.value)


# ----------------------------------------------------------------------------- CLI


def test_cli_datasets_table_manifest_and_check(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _touch(data / "c1_FLAIR.nii.gz")
    _touch(data / "c1_mask.nii.gz")
    runner = CliRunner()
    out_csv = tmp_path / "m.csv"
    result = runner.invoke(
        app, ["datasets", str(data), "--write-manifest", str(out_csv), "--check"]
    )
    assert result.exit_code == 0, result.output
    assert "c1" in result.output and "4x5x6" in result.output and "2x2x3" in result.output
    assert "ok" in result.output
    assert read_manifest(out_csv)[0].case_id == "c1"
    again = runner.invoke(app, ["datasets", str(data), "--write-manifest", str(out_csv)])
    assert isinstance(again.exception, OutputExistsError)


def test_cli_datasets_check_reports_grid_mismatch(tmp_path: Path) -> None:
    _touch(tmp_path / "c1_FLAIR.nii.gz")
    _touch(tmp_path / "c1_mask.nii.gz", shape=(4, 5, 7))
    result = CliRunner().invoke(app, ["datasets", str(tmp_path), "--check"])
    assert result.exit_code == 2
    assert "grid differs" in result.output


# ----------------------------------------------------------------------------- real data


@pytest.mark.real_data
def test_real_folder_finds_all_six_cases(shared_data: Path) -> None:
    found = discover(shared_data / "real")
    got = {(c.case_id, c.subject, c.timepoint, c.source) for c in found.cases}
    assert got == {
        ("P14_T1", "P14", "T1", "mslesseg"),
        ("P14_T2", "P14", "T2", "mslesseg"),
        ("P14_T3", "P14", "T3", "mslesseg"),
        ("P18_T1", "P18", "T1", "mslesseg"),
        ("patient19", "patient19", None, "open_ms_data"),
        ("patient26", "patient26", None, "open_ms_data"),
    }
    assert all(c.lesion_mask is not None and c.lesion_mask.is_file() for c in found.cases)
    assert all(c.t1 is not None for c in found.cases)
    # 27 open_ms_data patients have masks only (patient07 is absent altogether).
    assert len(found.skipped) == 27 and all("no FLAIR" in s.reason for s in found.skipped)
