from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import cc3d
import nibabel as nib
import numpy as np
import pytest
from synth_configs import SMALL
from typer.testing import CliRunner

from mslesion.cli.main import app
from mslesion.errors import ConfigError, OutputExistsError
from mslesion.synth import generate_case, write_dataset, write_example
from mslesion.synth.anatomy import MNI_AFFINE_1MM, MNI_SHAPE_1MM, mni_grid


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    write_dataset(tmp_path / "a", 2, seed=4, config=SMALL)
    write_dataset(tmp_path / "b", 2, seed=4, config=SMALL)
    a, b = _bytes(tmp_path / "a"), _bytes(tmp_path / "b")
    assert sorted(a) == sorted(
        [f"case00{i}_{k}.nii.gz" for i in (1, 2) for k in ("FLAIR", "mask", "brainmask")]
        + ["lesions.csv"]
    )
    assert a == b
    write_dataset(tmp_path / "c", 1, seed=5, config=SMALL)
    assert (tmp_path / "c" / "case001_FLAIR.nii.gz").read_bytes() != a["case001_FLAIR.nii.gz"]


def test_workers_write_the_same_bytes(tmp_path: Path) -> None:
    one = write_dataset(tmp_path / "one", 3, seed=7, config=SMALL)
    seen: list[str] = []
    two = write_dataset(tmp_path / "two", 3, seed=7, config=SMALL, on_case=seen.append, workers=2)
    assert _bytes(tmp_path / "one") == _bytes(tmp_path / "two")
    assert one == two and seen == ["case001", "case002", "case003"]


def test_workers_finish_after_torch_ran_threads_in_the_parent(tmp_path: Path) -> None:
    # The suite runs torch on one thread, which hides a fork-after-OpenMP hang: the CLI's
    # default is every core. A hang must fail the test, not freeze the suite: a subprocess.
    script = (
        "import sys, torch\n"
        "torch.set_num_threads(2)\n"
        "from mslesion.synth import SynthConfig, write_dataset\n"
        "write_dataset(sys.argv[1], 3, seed=7, config=SynthConfig(voxel_size_mm=3.0), workers=2)\n"
    )
    out = tmp_path / "out"
    try:
        subprocess.run([sys.executable, "-c", script, str(out)], check=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("write_dataset with 2 workers hung after torch used 2 threads")
    assert len(list(out.glob("case*_FLAIR.nii.gz"))) == 3


def test_csv_matches_masks_and_files_are_valid(tmp_path: Path) -> None:
    write_dataset(tmp_path, 2, seed=11, config=SMALL)
    with open(tmp_path / "lesions.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["case"] for r in rows] == ["case001", "case002"]
    shape, affine = mni_grid(3.0)
    for row in rows:
        flair = nib.load(tmp_path / f"{row['case']}_FLAIR.nii.gz")
        mask_img = nib.load(tmp_path / f"{row['case']}_mask.nii.gz")
        brain = np.asarray(nib.load(tmp_path / f"{row['case']}_brainmask.nii.gz").dataobj)
        mask = np.asarray(mask_img.dataobj)
        assert flair.shape == shape and mask.dtype == np.uint8
        np.testing.assert_allclose(flair.affine, affine, atol=1e-5)
        np.testing.assert_allclose(mask_img.affine, affine, atol=1e-5)
        _, n = cc3d.connected_components(mask > 0, connectivity=26, return_N=True)
        assert int(row["lesion_count"]) == n > 0
        assert float(row["total_volume_mm3"]) == pytest.approx(mask.sum() * 27.0)
        zones = ("periventricular", "juxtacortical", "infratentorial", "deep_wm")
        assert sum(int(row[z]) for z in zones) <= n
        assert not np.any((mask > 0) & (brain == 0))
        drawn = generate_case(int(row["seed"]), SMALL)
        assert (row["acquisition"], row["brain_mask"]) == (
            drawn.acquisition,
            drawn.brain_mask_style,
        )


def test_refuses_to_overwrite_before_generating(tmp_path: Path) -> None:
    write_dataset(tmp_path, 1, seed=1, config=SMALL)
    before = (tmp_path / "case001_FLAIR.nii.gz").read_bytes()
    with pytest.raises(OutputExistsError):
        write_dataset(tmp_path, 1, seed=2, config=SMALL)
    assert (tmp_path / "case001_FLAIR.nii.gz").read_bytes() == before
    write_dataset(tmp_path, 1, seed=2, config=SMALL, overwrite=True)
    assert (tmp_path / "case001_FLAIR.nii.gz").read_bytes() != before


def test_cli_writes_same_bytes_and_reports_bad_options(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["synth", "--n", "1", "--seed", "3", "--voxel-size", "3", "--lesion-load", "low"]
    first = runner.invoke(app, [*args, str(tmp_path / "x")])
    second = runner.invoke(app, [*args, str(tmp_path / "y")])
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert _bytes(tmp_path / "x") == _bytes(tmp_path / "y")
    again = runner.invoke(app, [*args, str(tmp_path / "x")])
    assert isinstance(again.exception, OutputExistsError)
    bad = runner.invoke(app, ["synth", str(tmp_path / "z"), "--lesion-load", "huge"])
    assert isinstance(bad.exception, ConfigError)


def test_flat_layout_is_found_by_datasets(tmp_path: Path) -> None:
    datasets = pytest.importorskip("mslesion.io.datasets")
    write_dataset(tmp_path, 2, seed=0, config=SMALL)
    cases = datasets.find_cases(tmp_path)
    assert sorted(c.case_id for c in cases) == ["case001", "case002"]
    assert all(c.lesion_mask is not None for c in cases)


def test_example_is_on_the_1mm_mni_grid(tmp_path: Path) -> None:
    flair_path, mask_path = write_example(tmp_path)
    flair, mask = nib.load(flair_path), nib.load(mask_path)
    assert flair.shape == MNI_SHAPE_1MM == mask.shape
    np.testing.assert_allclose(flair.affine, MNI_AFFINE_1MM, atol=1e-5)
    _, n = cc3d.connected_components(np.asarray(mask.dataobj) > 0, connectivity=26, return_N=True)
    assert n >= 10
    with pytest.raises(OutputExistsError):
        write_example(tmp_path)


def test_mni_grid_matches_the_real_scans(shared_data: Path) -> None:
    flair = next((shared_data / "real").rglob("*_FLAIR.nii.gz"))
    img = nib.load(flair)
    assert img.shape == MNI_SHAPE_1MM
    np.testing.assert_allclose(img.affine, MNI_AFFINE_1MM, atol=1e-4)
