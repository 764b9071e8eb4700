"""Case pairing by file name (:mod:`mslesion.metrics.pairing`)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from metric_masks import cube

from mslesion.errors import InputError
from mslesion.metrics.pairing import case_key, index_cases


def save(path: Path, data: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, np.diag([-1.0, 1.0, 1.0, 1.0])), str(path))
    return path


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("case01_mask.nii.gz", "case01"),
        ("case01_FLAIR_pred.nii", "case01"),
        ("P14_T1_MASK.nii.gz", "P14_T1"),
        ("sub-01_lesion_mask.nii.gz", "sub-01"),
        ("GOLD_STANDARD_p3.nii.gz", "p3"),
        ("BRATS_001_0000.nii.gz", "BRATS_001"),
        ("mask.nii.gz", "mask"),
    ],
)
def test_case_key(name: str, key: str) -> None:
    assert case_key(name) == key


def test_index_cases_open_ms_data_and_mslesseg_layouts(tmp_path: Path) -> None:
    vol = cube((4, 4, 4), (1, 1, 1), 2)
    for p in ("patient01", "patient02"):
        save(tmp_path / f"oms/{p}/GOLD_STANDARD_N4_regtoFLAIR_regtoMNI.nii.gz", vol)
        save(tmp_path / f"oms/{p}/FLAIR_N4_regtoFLAIR_brain_regtoMNI.nii.gz", vol)
    assert sorted(index_cases(tmp_path / "oms", "truth")) == ["patient01", "patient02"]
    assert sorted(index_cases(tmp_path / "oms", "flair")) == ["patient01", "patient02"]
    for t in ("T1", "T2"):
        for kind in ("MASK", "FLAIR", "T1"):
            save(tmp_path / f"mss/P14/{t}/P14_{t}_{kind}.nii.gz", vol)
    truth = index_cases(tmp_path / "mss", "truth")
    assert {k: v.name for k, v in truth.items()} == {
        "P14_T1": "P14_T1_MASK.nii.gz",
        "P14_T2": "P14_T2_MASK.nii.gz",
    }
    with pytest.raises(InputError, match="no NIfTI"):
        index_cases(tmp_path / "oms" / "nothing", "truth") if False else index_cases(
            _empty(tmp_path), "truth"
        )


def _empty(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder
