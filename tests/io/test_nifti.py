"""NIfTI I/O: the bad-input corpus (library and CLI), saving, atomic writes, overwrite rules."""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from mslesion.errors import InputError, OutputExistsError
from mslesion.io.atomic import atomic_output, write_text_atomic
from mslesion.io.nifti import (
    NiftiVolume,
    check_same_grid,
    load_mask,
    load_volume,
    save_mask,
    save_probability,
    save_volume,
)

SHAPE = (8, 9, 7)


def _image(shape: tuple[int, ...] = SHAPE, value: float = 1.0) -> np.ndarray:
    data = np.full(shape, value, dtype=np.float32)
    data.flat[0] = value + 1.0  # not constant, not all zero
    return data


def _save(path: Path, data: np.ndarray, affine: np.ndarray | None = None) -> Path:
    nib.save(nib.Nifti1Image(data, np.eye(4) if affine is None else affine), str(path))
    return path


def _patch_sform(path: Path, srow_z: tuple[float, float, float, float]) -> Path:
    """Write a bad sform into an uncompressed .nii header (nibabel refuses to build such images).

    NIfTI-1 header offsets: qform_code int16 @252, sform_code int16 @254, srow_z float32[4] @312.
    """
    raw = bytearray(path.read_bytes())
    raw[252:256] = struct.pack("<hh", 0, 1)
    raw[312:328] = struct.pack("<4f", *srow_z)
    path.write_bytes(bytes(raw))
    return path


# Each builder writes a bad file under tmp and returns it; the message fragment must appear.
def _two_d(tmp: Path) -> Path:
    return _save(tmp / "flat.nii.gz", _image((8, 9)))


def _four_d(tmp: Path) -> Path:
    return _save(tmp / "series.nii.gz", _image((8, 9, 7, 2)))


def _empty(tmp: Path) -> Path:
    path = tmp / "empty.nii.gz"
    path.write_bytes(b"")
    return path


def _truncated(tmp: Path) -> Path:
    path = _save(
        tmp / "cut.nii.gz", np.random.default_rng(0).random((16, 16, 16)).astype(np.float32)
    )
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    return path


def _not_gzip(tmp: Path) -> Path:
    path = tmp / "fake.nii.gz"
    path.write_bytes(b"this is not gzip data at all" * 20)
    return path


def _not_nifti(tmp: Path) -> Path:
    path = tmp / "notes.txt"
    path.write_text("hello")
    return path


def _text_as_nii(tmp: Path) -> Path:
    path = tmp / "text.nii"
    path.write_text("x" * 400)
    return path


def _nan_voxels(tmp: Path) -> Path:
    data = _image()
    data[1, 2, 3] = np.nan
    data[2, 2, 2] = np.inf
    return _save(tmp / "nan.nii.gz", data)


def _singular_affine(tmp: Path) -> Path:
    return _patch_sform(_save(tmp / "singular.nii", _image()), (0.0, 0.0, 0.0, 0.0))


def _nonfinite_affine(tmp: Path) -> Path:
    return _patch_sform(_save(tmp / "nanaffine.nii", _image()), (0.0, 0.0, float("nan"), 0.0))


def _all_zero(tmp: Path) -> Path:
    return _save(tmp / "zeros.nii.gz", np.zeros(SHAPE, dtype=np.float32))


BAD_INPUTS: list[tuple[str, Callable[[Path], Path], str]] = [
    ("2d", _two_d, "is 2D"),
    ("4d", _four_d, "4D with 2 volumes"),
    ("empty", _empty, "file is empty"),
    ("truncated-gzip", _truncated, "corrupt or truncated"),
    ("not-gzip", _not_gzip, "(is not a gzip file)"),
    ("not-nifti-name", _not_nifti, "not a NIfTI file"),
    ("not-nifti-content", _text_as_nii, "not a readable NIfTI"),
    ("nan-inf-voxels", _nan_voxels, "2 NaN or Inf voxels"),
    ("singular-affine", _singular_affine, "affine is singular"),
    ("nonfinite-affine", _nonfinite_affine, "affine contains NaN or Inf"),
    ("all-zero", _all_zero, "image is all zeros"),
]


def _run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run the console-script entry point in-process; return (exit code, stderr)."""
    from mslesion.cli import main

    old = sys.argv
    sys.argv = ["mslesion", *args]
    try:
        with pytest.raises(SystemExit) as exc:
            main.run()
    finally:
        sys.argv = old
    return int(exc.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize(("name", "build", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_rejected_with_clear_message(
    tmp_path: Path, name: str, build: Callable[[Path], Path], message: str
) -> None:
    path = build(tmp_path)
    with pytest.raises(InputError) as exc:
        load_volume(path)
    assert message in str(exc.value)
    assert str(exc.value).startswith(str(path)), "the message must name the file"


@pytest.mark.parametrize(("name", "build", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_cli_one_line_exit_2_no_output(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    build: Callable[[Path], Path],
    message: str,
) -> None:
    path = build(tmp_path)
    outdir = tmp_path / "out"
    code, err = _run_cli(["preprocess", str(path), "-o", str(outdir)], capsys)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert message in lines[0] and path.name in lines[0]
    assert "Traceback" not in err
    assert not outdir.exists() or not any(outdir.iterdir())


def test_grid_mismatch_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = _save(tmp_path / "img.nii.gz", _image())
    other_shape = _save(tmp_path / "mask_shape.nii.gz", np.ones((8, 9, 6), dtype=np.uint8))
    shifted = np.eye(4)
    shifted[0, 3] = 5.0
    other_affine = _save(tmp_path / "mask_affine.nii.gz", np.ones(SHAPE, dtype=np.uint8), shifted)
    ref = load_volume(image)
    with pytest.raises(InputError, match="shape 8x9x6 vs 8x9x7"):
        load_mask(other_shape, reference=ref)
    with pytest.raises(InputError, match="affines do not match"):
        check_same_grid(ref, load_mask(other_affine))
    outdir = tmp_path / "out"
    code, err = _run_cli(
        ["preprocess", str(image), "--mask", str(other_shape), "-o", str(outdir)], capsys
    )
    assert code == 2 and "grid differs" in err and "mask_shape.nii.gz" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not outdir.exists() or not any(outdir.iterdir())


def test_console_script_reports_one_line(tmp_path: Path) -> None:
    """The installed `mslesion` script itself (not just run()) exits 2 without a traceback."""
    script = Path(sys.executable).with_name("mslesion")
    if not script.exists():
        pytest.skip("console script not installed beside this interpreter")
    bad = _all_zero(tmp_path)
    proc = subprocess.run(
        [str(script), "preprocess", str(bad), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "image is all zeros" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_four_d_with_one_volume_is_accepted(tmp_path: Path) -> None:
    vol = load_volume(_save(tmp_path / "one.nii.gz", _image((8, 9, 7, 1))))
    assert vol.shape == SHAPE and vol.data.ndim == 3


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_volume(tmp_path / "nope.nii.gz")
    with pytest.raises(InputError, match="is a folder"):
        load_volume(tmp_path)


def test_all_zero_mask_is_valid(tmp_path: Path) -> None:
    mask = load_mask(_save(tmp_path / "m.nii.gz", np.zeros(SHAPE, dtype=np.uint8)))
    assert mask.data.dtype == np.uint8 and not mask.data.any()


# ----------------------------------------------------------------------------- saving


def _reference(tmp_path: Path) -> NiftiVolume:
    affine = np.array([[-0.9, 0, 0, 10], [0, 1.1, 0, -20], [0, 0, 3.0, 5], [0, 0, 0, 1]])
    img = nib.Nifti1Image(_image(), affine)
    img.set_qform(affine, code=1)  # scanner
    img.set_sform(affine, code=4)  # MNI
    img.header.set_xyzt_units("mm", "sec")
    path = tmp_path / "ref.nii.gz"
    nib.save(img, str(path))
    return load_volume(path)


def test_save_keeps_affine_codes_units_and_dtypes(tmp_path: Path) -> None:
    ref = _reference(tmp_path)
    probs = np.linspace(-0.5, 1.5, int(np.prod(SHAPE)), dtype=np.float64).reshape(SHAPE)
    save_mask(tmp_path / "mask.nii.gz", probs > 0.5, ref.affine, reference=ref)
    save_probability(tmp_path / "prob.nii.gz", probs, ref.affine, reference=ref)
    save_volume(tmp_path / "img.nii", ref.data * 2, ref.affine, reference=ref)
    for name, dtype in (
        ("mask.nii.gz", np.uint8),
        ("prob.nii.gz", np.float32),
        ("img.nii", np.float32),
    ):
        img = nib.load(str(tmp_path / name))
        assert img.get_data_dtype() == dtype, name
        np.testing.assert_allclose(img.affine, ref.affine, atol=1e-5)
        assert int(img.header["qform_code"]) == 1 and int(img.header["sform_code"]) == 4
        assert img.header.get_xyzt_units() == ("mm", "sec")
    prob = np.asanyarray(nib.load(str(tmp_path / "prob.nii.gz")).dataobj)
    assert prob.min() == 0.0 and prob.max() == 1.0
    mask = np.asanyarray(nib.load(str(tmp_path / "mask.nii.gz")).dataobj)
    assert set(np.unique(mask)) == {0, 1}
    np.testing.assert_array_equal(mask, (probs > 0.5).astype(np.uint8))
    img = np.asanyarray(nib.load(str(tmp_path / "img.nii")).dataobj)
    np.testing.assert_array_equal(img, ref.data * 2)


def test_save_without_reference_sets_mm_units(tmp_path: Path) -> None:
    path = save_volume(tmp_path / "x.nii.gz", _image(), np.diag([2.0, 2.0, 2.0, 1.0]))
    img = nib.load(str(path))
    assert img.header.get_xyzt_units()[0] == "mm"
    assert load_volume(path).spacing == (2.0, 2.0, 2.0)


def test_save_rejects_bad_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"must end in \.nii"):
        save_volume(tmp_path / "x.png", _image(), np.eye(4))


def test_no_overwrite_without_flag(tmp_path: Path) -> None:
    path = save_mask(tmp_path / "m.nii.gz", np.ones(SHAPE), np.eye(4))
    with pytest.raises(OutputExistsError, match="--overwrite"):
        save_mask(path, np.zeros(SHAPE), np.eye(4))
    assert load_mask(path).data.all(), "the refused write must leave the old file intact"
    save_mask(path, np.zeros(SHAPE), np.eye(4), overwrite=True)
    assert not load_mask(path).data.any()


def test_atomic_output_leaves_nothing_on_exception(tmp_path: Path) -> None:
    target = tmp_path / "result.nii.gz"
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_bytes(b"half written")
        raise RuntimeError("crash mid-write")
    assert list(tmp_path.iterdir()) == []


def test_atomic_output_keeps_old_file_on_exception(tmp_path: Path) -> None:
    target = write_text_atomic(tmp_path / "a.json", "old")
    with pytest.raises(RuntimeError), atomic_output(target, overwrite=True) as tmp:
        tmp.write_text("new")
        raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_atomic_temp_file_keeps_compression_suffix(tmp_path: Path) -> None:
    path = save_volume(tmp_path / "c.nii.gz", _image(), np.eye(4))
    with gzip.open(path) as fh:  # really gzip-compressed, not a plain .nii under a .gz name
        assert len(fh.read(348)) == 348


def test_atomic_output_gets_the_usual_file_mode(tmp_path: Path) -> None:
    import os

    old = os.umask(0o022)
    try:
        out = write_text_atomic(tmp_path / "report.csv", "a,b\n")
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644
