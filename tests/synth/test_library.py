from __future__ import annotations

from pathlib import Path

import cc3d
import nibabel as nib
import numpy as np
import pytest

from mslesion.synth import SynthConfig, generate_case
from mslesion.synth import library as lib_mod


@pytest.fixture(scope="module")
def small_library(shared_data: Path) -> lib_mod.LesionLibrary:
    files = lib_mod.library_files(shared_data)
    # a few lesions per size bin: reading all 2,229 full volumes takes minutes
    picked = [
        f for bin_ in sorted({f.parent for f in files}) for f in sorted(bin_.glob("*.nii.gz"))[:3]
    ]
    return lib_mod.build_library(picked)


def test_crops_round_trip_to_the_original_volume(
    shared_data: Path, small_library: lib_mod.LesionLibrary
) -> None:
    first = sorted(lib_mod.library_files(shared_data)[0].parent.glob("*.nii.gz"))[0]
    full = np.asarray(nib.load(str(first)).dataobj) > 0
    crop, corner = small_library.crop(0)
    rebuilt = np.zeros_like(full)
    rebuilt[tuple(slice(c, c + s) for c, s in zip(corner, crop.shape, strict=True))] = crop
    np.testing.assert_array_equal(rebuilt, full)
    assert small_library.table[0, 7] == full.sum()


def test_library_lesions_are_real_shapes_inside_white_matter(
    small_library: lib_mod.LesionLibrary, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lib_mod, "load_library", lambda *_a, **_k: small_library)
    config = SynthConfig(
        voxel_size_mm=2.0, lesion_load="low", lesions="library", snr=None, deform=False
    )
    case = generate_case(5, config)
    assert case.lesion_mask.any()
    assert {r["shape"] for r in case.lesions} == {"library"}
    assert not np.any((case.lesion_mask > 0) & (case.brain_mask == 0))
    _, n = cc3d.connected_components(case.lesion_mask > 0, connectivity=26, return_N=True)
    assert n == len(case.lesions)


def test_real_anatomy_has_only_synthetic_lesions(shared_data: Path) -> None:
    config = SynthConfig(voxel_size_mm=3.0, anatomy="real", lesion_load="medium", snr=None)
    case = generate_case(0, config)
    again = generate_case(0, config)
    np.testing.assert_array_equal(case.flair, again.flair)
    assert case.lesion_mask.any() and not np.any((case.lesion_mask > 0) & (case.brain_mask == 0))
    brain = case.brain_mask > 0
    # the filled real lesions must not stay as bright as the synthetic ones
    outside = brain & (case.lesion_mask == 0)
    assert (
        np.percentile(case.flair[outside], 99.9) < np.median(case.flair[case.lesion_mask > 0]) * 1.6
    )
