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


def test_only_procedural_anatomy_is_shrunk_as_a_rigid_registration_would(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a 3D case's template brain is drawn smaller (acquisition.place_brain); a real scan's
    # anatomy keeps the size its own registration left it
    from mslesion.synth import generate
    from mslesion.synth.generate import case_contrast

    seen: list[float] = []
    drawn = generate.random_sampling_grid

    def spy(*args, brain_scale: float = 1.0, **kwargs):  # noqa: ANN202
        seen.append(brain_scale)
        return drawn(*args, brain_scale=brain_scale, **kwargs)

    monkeypatch.setattr(generate, "random_sampling_grid", spy)
    seed = next(s for s in range(20) if not case_contrast(s).two_d)
    for anatomy in ("mni", "real"):
        generate_case(seed, SynthConfig(voxel_size_mm=3.0, anatomy=anatomy, snr=None))
    assert seen == [case_contrast(seed).brain_scale, 1.0] and seen[0] < 1.0
