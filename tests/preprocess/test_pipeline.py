"""The whole pipeline: records map masks back exactly, serialise, and hold on the real scans."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from typer.testing import CliRunner

from blob_volumes import make_blob_volume
from mslesion.errors import ConfigError
from mslesion.io.nifti import NiftiVolume, load_mask, load_volume
from mslesion.preprocess.pipeline import PreprocessConfig, PreprocessRecord, parse_crop, preprocess
from mslesion.preprocess.spatial import CropRecord, axcodes_of, resample_to_spacing


def _volume(affine: np.ndarray, seed: int = 0) -> tuple[NiftiVolume, np.ndarray]:
    image, mask = make_blob_volume(seed=seed)
    return NiftiVolume(image, affine, nib.Nifti1Header()), mask


LAS_1MM = np.array([[-1.0, 0, 0, 16], [0, 1, 0, -18], [0, 0, 1, -14], [0, 0, 0, 1]])
ANISO = np.array([[0, -0.8, 0, 16], [1.1, 0, 0, -18], [0, 0, 2.5, -14], [0, 0, 0, 1]])


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0, b > 0
    return 2.0 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


@pytest.mark.parametrize("crop", ["none", "brain", (40, 24, 36)])
def test_mask_round_trip_is_exact_on_1mm(crop: str | tuple[int, int, int]) -> None:
    volume, mask = _volume(LAS_1MM)
    arr, record = preprocess(volume, PreprocessConfig(crop=crop))
    assert arr.dtype == np.float32 and arr.shape == record.shape
    assert axcodes_of(record.affine) == "RAS" and record.spacing == (1.0, 1.0, 1.0)
    forward = record.apply(mask, is_mask=True)
    assert forward.shape == arr.shape and forward.sum() == mask.sum()
    back = record.to_native(forward, is_mask=True)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, mask)


def test_anisotropic_oblique_axes_round_trip() -> None:
    volume, mask = _volume(ANISO)
    arr, record = preprocess(volume, PreprocessConfig(crop="brain"))
    assert record.resample is not None and record.spacing == pytest.approx((1.0, 1.0, 1.0))
    assert _dice(record.to_native(record.apply(mask)), mask) >= 0.95
    np.testing.assert_array_equal(record.apply(mask.astype(bool)), record.apply(mask))
    # Lesion volume (mm3) is preserved by linear resampling of the mask as a fraction map,
    # and the lesions' centroid stays put in world space.
    vol_native = mask.sum() * volume.voxel_volume_mm3
    fraction = record.apply(mask.astype(np.float32), is_mask=False)
    assert fraction.sum() * np.prod(record.spacing) == pytest.approx(vol_native, rel=0.02)
    c_native = (volume.affine @ np.append(np.argwhere(mask).mean(0), 1))[:3]
    c_pre = (record.affine @ np.append(np.argwhere(record.apply(mask)).mean(0), 1))[:3]
    np.testing.assert_allclose(c_pre, c_native, atol=1.25)  # half a 2.5 mm slice


def test_record_json_round_trip_maps_identically() -> None:
    volume, mask = _volume(ANISO)
    arr, record = preprocess(
        volume, PreprocessConfig(spacing=(1.5, 1.5, 1.5), normalization="zscore", crop=(20, 20, 20))
    )
    again = PreprocessRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again == record
    pred = record.apply(mask)
    np.testing.assert_array_equal(again.to_native(pred), record.to_native(pred))


def test_probabilities_map_back_linearly_in_range() -> None:
    volume, _ = _volume(ANISO)
    arr, record = preprocess(volume, PreprocessConfig())
    prob = np.clip(arr, 0, 1)
    back = record.to_native(prob, is_mask=False)
    assert back.dtype == np.float32 and back.shape == volume.shape
    assert back.min() >= 0.0 and back.max() <= 1.0 and 0.0 < back.mean() < 1.0


def test_normalisations_and_intensity_inverse() -> None:
    volume, _ = _volume(LAS_1MM)
    mm, rec_mm = preprocess(volume, PreprocessConfig(normalization="minmax"))
    assert mm.min() == 0.0 and mm.max() == 1.0
    zs, rec_zs = preprocess(
        volume, PreprocessConfig(normalization="zscore", percentiles=(0.0, 100.0))
    )
    brain = zs != 0
    assert abs(zs[brain].mean()) < 0.05 and zs[brain].std() == pytest.approx(1.0, abs=0.05)
    raw, rec_raw = preprocess(volume, PreprocessConfig(normalization="none"))
    assert rec_raw.intensity is None
    back = rec_zs.intensity_to_native(zs)
    inside = volume.data != 0
    np.testing.assert_allclose(back[inside], volume.data[inside], atol=1e-4)


def test_brain_mask_drives_crop_and_normalisation() -> None:
    volume, _ = _volume(LAS_1MM)
    brain = np.zeros(volume.shape, np.uint8)
    brain[10:20, 10:20, 10:20] = 1
    arr, record = preprocess(
        volume, PreprocessConfig(crop="brain", margin=2), brain_mask=volume.with_data(brain)
    )
    assert arr.shape == (14, 14, 14)
    # LAS -> RAS flips X (x -> 31 - x): the brain box 10..19 becomes 12..21, minus the margin.
    assert record.crop == CropRecord(volume.shape, (10, 8, 8), (14, 14, 14))
    # Normalisation zeroes everything outside the given brain mask, i.e. the 2-voxel margin.
    assert not arr[:2].any() and not arr[-2:].any() and (arr[2:-2, 2:-2, 2:-2] > 0).mean() > 0.9


def test_n4_option_runs_and_is_recorded() -> None:
    volume, _ = _volume(LAS_1MM)
    arr, record = preprocess(volume, PreprocessConfig(n4=True))
    assert record.n4 and np.isfinite(arr).all() and arr.max() == 1.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"spacing": (1.0, 0.0, 1.0)},
        {"interpolation": "cubic"},
        {"normalization": "histogram"},
        {"percentiles": (99.0, 1.0)},
        {"crop": "skull"},
        {"crop": (128, 0, 128)},
        {"margin": -1},
    ],
)
def test_config_validation(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        PreprocessConfig(**kwargs)


def test_config_from_checkpoint_dict_and_parse_crop() -> None:
    config = PreprocessConfig.from_dict(
        {
            "normalization": "zscore",
            "percentiles": [1, 99],
            "spacing": [1, 1, 1],
            "patch_size": [64, 64, 64],
        }
    )
    assert config.normalization == "zscore" and config.percentiles == (1.0, 99.0)
    assert PreprocessConfig.from_dict(config.to_dict()) == config
    assert parse_crop("128x160x128") == (128, 160, 128) and parse_crop("brain") == "brain"
    with pytest.raises(ConfigError):
        parse_crop("128x160")


def test_wrong_grid_is_refused() -> None:
    volume, mask = _volume(LAS_1MM)
    _, record = preprocess(volume, PreprocessConfig(crop="brain"))
    with pytest.raises(ValueError, match="native grid"):
        record.apply(mask[:-1])
    with pytest.raises(ValueError, match="preprocessed grid"):
        record.to_native(np.zeros((3, 3, 3)))


# ----------------------------------------------------------------------------- CLI


def test_cli_preprocess_writes_outputs_and_round_trips(
    nifti_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    from mslesion.cli.main import app

    flair, truth = nifti_pair
    out = tmp_path / "out"
    args = [
        "preprocess",
        str(flair),
        "--mask",
        str(truth),
        "-o",
        str(out),
        "--crop",
        "brain",
        "--roundtrip",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Dice 1.0000" in result.output and "RAS" in result.output
    record = PreprocessRecord.from_dict(
        json.loads((out / "case001_FLAIR_preproc.json").read_text())
    )
    pre = load_volume(out / "case001_FLAIR_preproc.nii.gz")
    assert pre.shape == record.shape
    np.testing.assert_allclose(pre.affine, record.affine, atol=1e-5)
    back = load_mask(out / "case001_mask_roundtrip.nii.gz")
    np.testing.assert_array_equal(back.data, load_mask(truth).data)
    again = CliRunner().invoke(app, args)
    assert again.exception is not None and "already exists" in str(again.exception)
    assert CliRunner().invoke(app, [*args, "--overwrite"]).exit_code == 0


def test_cli_preprocess_image_round_trip(nifti_pair: tuple[Path, Path], tmp_path: Path) -> None:
    from mslesion.cli.main import app

    flair, _ = nifti_pair
    result = CliRunner().invoke(
        app,
        [
            "preprocess",
            str(flair),
            "-o",
            str(tmp_path),
            "--spacing",
            "2",
            "2",
            "2",
            "--normalize",
            "zscore",
            "--roundtrip",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "round trip of the image" in result.output
    back = load_volume(tmp_path / "case001_FLAIR_roundtrip.nii.gz")
    native = load_volume(flair)
    assert back.shape == native.shape and not back.data[native.data == 0].any()


def test_cli_preprocess_example(
    nifti_pair: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--example wiring against synth's contract; a stand-in module serves the tiny pair (the real
    `mslesion.synth` is slow to import and is tested by its owner)."""
    import types

    from mslesion.cli.main import app

    synth = types.ModuleType("mslesion.synth")
    monkeypatch.setitem(sys.modules, "mslesion.synth", synth)

    calls: list[Path] = []

    def fake_write_example(outdir: Path, overwrite: bool = False) -> tuple[Path, Path]:
        calls.append(Path(outdir))
        return nifti_pair

    synth.write_example = fake_write_example  # type: ignore[attr-defined]
    result = CliRunner().invoke(app, ["preprocess", "--example", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert calls == [tmp_path / "out" / "example"]
    assert (
        "Dice 1.0000" in result.output
        and (tmp_path / "out" / "case001_mask_roundtrip.nii.gz").is_file()
    )


# ----------------------------------------------------------------------------- real scans


def _real_crop(shared_data: Path, case: str, mask_name: str) -> tuple[NiftiVolume, np.ndarray]:
    """A 96x112x72 block of a real scan around its lesions (keeps the test fast)."""
    flair = load_volume(shared_data / "real" / case)
    mask = load_mask(shared_data / "real" / Path(case).parent / mask_name, reference=flair).data
    centre = np.argwhere(mask).mean(axis=0).astype(int)
    size = np.array([96, 112, 72])
    start = np.clip(centre - size // 2, 0, np.array(flair.shape) - size)
    sl = tuple(slice(s, s + n) for s, n in zip(start, size, strict=True))
    shift = np.eye(4)
    shift[:3, 3] = start
    cropped = NiftiVolume(flair.data[sl].copy(), flair.affine @ shift, flair.header, flair.path)
    return cropped, mask[sl].copy()


REAL = [
    ("MSLesSeg/train/P14/T1/P14_T1_FLAIR.nii.gz", "P14_T1_MASK.nii.gz"),
    (
        "open_ms_data/cross_sectional/MNI/patient19/FLAIR_N4_noneck_reduced_winsor_regtoFLAIR_brain_N4_regtoMNI.nii.gz",
        "GOLD_STANDARD_N4_noneck_reduced_winsor_regtoFLAIR_regtoMNI.nii.gz",
    ),
]


@pytest.mark.real_data
@pytest.mark.parametrize(("case", "mask_name"), REAL, ids=["P14_T1", "patient19"])
def test_real_scan_round_trips(shared_data: Path, case: str, mask_name: str) -> None:
    volume, mask = _real_crop(shared_data, case, mask_name)
    assert mask.sum() > 100 and axcodes_of(volume.affine) == "LAS"
    # 1 mm data: reorient + crop + pad, mask comes back identical.
    arr, record = preprocess(volume, PreprocessConfig(crop=(80, 128, 64)))
    assert arr.shape == (80, 128, 64)
    inside = record.to_native(np.ones(arr.shape, np.uint8)) > 0  # what the fixed box kept
    assert 0 < inside.mean() < 1
    back = record.to_native(record.apply(mask))
    np.testing.assert_array_equal(back[inside], mask[inside])
    assert not back[~inside].any()
    arr, record = preprocess(volume, PreprocessConfig(crop="brain"))
    np.testing.assert_array_equal(record.to_native(record.apply(mask)), mask)
    # An anisotropic 1x1x3 mm copy: resampled to 1 mm and back, Dice >= 0.98.
    img3, aff3, _ = resample_to_spacing(volume.data, volume.affine, (1.0, 1.0, 3.0))
    mask3, _, _ = resample_to_spacing(mask, volume.affine, (1.0, 1.0, 3.0), "nearest")
    arr3, record3 = preprocess(
        NiftiVolume(img3, aff3, volume.header), PreprocessConfig(crop="brain")
    )
    assert record3.spacing == pytest.approx((1.0, 1.0, 1.0))
    assert _dice(record3.to_native(record3.apply(mask3)), mask3) >= 0.98
    # A non-integer anisotropic copy (0.9 x 1.2 x 2.7 mm) still comes back closely.
    imgx, affx, _ = resample_to_spacing(volume.data, volume.affine, (0.9, 1.2, 2.7))
    maskx, _, _ = resample_to_spacing(mask, volume.affine, (0.9, 1.2, 2.7), "nearest")
    _, recordx = preprocess(
        NiftiVolume(imgx, affx, volume.header), PreprocessConfig(interpolation="bspline")
    )
    assert _dice(recordx.to_native(recordx.apply(maskx)), maskx) >= 0.95
