"""Predictor: native skull-on anisotropic rotated scan -> probabilities on the scan's own grid."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import torch
from segment_phantom import IntensityThreshold, dice, mni_phantom

from mslesion.infer.predictor import InferenceConfig, Predictor
from mslesion.infer.segment import segment_volume
from mslesion.io.nifti import NiftiVolume
from mslesion.preprocess import templates
from mslesion.preprocess.register import is_mni_skullstripped


@pytest.fixture(scope="module")
def native_result(phantom_volume, threshold_ckpt):
    predictor = Predictor.from_checkpoint(threshold_ckpt, InferenceConfig(uncertainty=True))
    return segment_volume(predictor, phantom_volume)


def test_mask_lands_on_lesions_in_native_space(native_result, phantom) -> None:
    assert native_result.mask.shape == phantom.flair.shape
    assert native_result.mask.dtype == np.uint8
    assert not native_result.prediction.passthrough
    assert dice(native_result.mask, phantom.lesions) > 0.6
    # every true lesion is found, and nothing is found on the bright skull rim
    assert len(native_result.lesions) == 4
    assert native_result.mask[phantom.lesions == 0].sum() < 0.5 * phantom.lesions.sum()


def test_registration_recovers_phantom_pose(native_result, phantom) -> None:
    pts = np.array(
        [[x, y, z, 1.0] for x in (-50, 0, 50) for y in (-70, 0, 50) for z in (-30, 0, 50)]
    ).T
    err = np.linalg.norm(
        (native_result.prediction.model_to_native @ pts - phantom.mni_to_native @ pts)[:3], axis=0
    )
    assert err.max() < 3.0


def test_uncertainty_map_and_confidence(native_result) -> None:
    std = native_result.uncertainty
    assert std is not None and std.shape == native_result.mask.shape
    assert float(std.min()) >= 0.0
    # a 1x1x1 convolution is flip-equivariant: all TTA passes agree
    assert float(std.max()) < 1e-4
    assert all(
        row.confidence is not None and row.confidence > 0.99 for row in native_result.lesions
    )


def test_mni_skullstripped_input_passes_through(threshold_ckpt) -> None:
    image, lesions, grid = mni_phantom(2.0)
    brain = templates.brain_mask_on_grid(2.0)
    vol = NiftiVolume(
        np.where(brain, image, 0.0).astype(np.float32) * 100, grid.affine, nib.Nifti1Header()
    )
    # the 2 mm grid is not MNI's 1 mm grid: not a pass-through candidate ...
    assert not is_mni_skullstripped(vol)
    # ... but the same scan on the 1 mm MNI box is, and needs no interpolation at 1 mm spacing
    big = np.zeros(templates.MNI_SHAPE, dtype=np.float32)
    big[::2, ::2, ::2][: vol.shape[0], : vol.shape[1], : vol.shape[2]] = vol.data
    mni = NiftiVolume(big, templates.MNI_AFFINE.copy(), nib.Nifti1Header())
    ckpt = {
        **threshold_ckpt,
        "preprocessing": {**threshold_ckpt["preprocessing"], "spacing": [1, 1, 1]},
    }
    pred = Predictor.from_checkpoint(ckpt).predict(mni)
    assert pred.passthrough
    np.testing.assert_allclose(pred.model_to_native, np.eye(4))
    # lesion voxels are the brightest: probability high there, low elsewhere
    les_big = np.zeros(templates.MNI_SHAPE, dtype=bool)
    les_big[::2, ::2, ::2][: vol.shape[0], : vol.shape[1], : vol.shape[2]] = lesions > 0
    assert pred.probability[les_big].mean() > 0.9
    assert pred.probability[~les_big].max() < 0.5


def test_sliding_window_matches_whole_volume() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv3d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv3d(4, 1, 3, padding=1)
    )
    vol = np.random.default_rng(0).random((40, 36, 30)).astype(np.float32)
    whole = Predictor(model, None, InferenceConfig(whole_volume_max_voxels=10**9))._infer(vol)[0]
    windows = Predictor(
        model, None, InferenceConfig(roi_size=(24, 24, 24), overlap=0.5, whole_volume_max_voxels=0)
    )._infer(vol)[0]
    # a receptive field of 5 voxels: windows differ from the whole volume only near window borders
    assert np.mean(np.abs(whole - windows)) < 0.02
    assert whole.shape == vol.shape


def test_tta_averages_flipped_passes() -> None:
    # a model that is NOT flip-equivariant: output depends on the x position
    class Ramp(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ramp = torch.linspace(-3, 3, x.shape[2]).view(1, 1, -1, 1, 1)
            return x * 0 + ramp

    vol = np.zeros((10, 4, 4), dtype=np.float32)
    mean, std = Predictor(
        Ramp(), None, InferenceConfig(tta=True, whole_volume_max_voxels=10**6)
    )._infer(vol)
    # flipping x turns the ramp around: the average over (id, fx, fy, fz) is (3 s(r) + s(-r)) / 4
    s = 1 / (1 + np.exp(-np.linspace(-3, 3, 10)))
    np.testing.assert_allclose(mean[:, 0, 0], (3 * s + s[::-1]) / 4, atol=1e-5)
    assert std is not None and std[0, 0, 0] > 0.1


def test_threshold_model_is_registered() -> None:
    assert isinstance(IntensityThreshold(), torch.nn.Module)


def test_checkpoint_without_spacing_means_the_1mm_model_grid() -> None:
    # Training on scans' own grids records "spacing": None; segmenting must still work.
    model = IntensityThreshold()
    none = Predictor(model, {"normalization": "minmax", "spacing": None}, InferenceConfig())
    two = Predictor(
        model, {"normalization": "minmax", "spacing": [2.0, 2.0, 2.0]}, InferenceConfig()
    )
    assert none.spacing == (1.0, 1.0, 1.0)
    assert two.spacing == (2.0, 2.0, 2.0)


def test_instance_norm_models_run_on_training_sized_windows() -> None:
    from mslesion.infer.predictor import normalizes_with_input_statistics
    from mslesion.models import build_model

    batch = build_model("unet3d", base_channels=4, depth=2).eval()
    instance = build_model("unet3d", base_channels=4, depth=2, norm="instance").eval()
    assert not normalizes_with_input_statistics(batch)
    assert normalizes_with_input_statistics(instance)

    # An instance-norm model's whole-volume output differs from its windowed output, and the
    # predictor must give the windowed one (what the model saw in training).
    torch.manual_seed(0)
    x = torch.rand(1, 1, 24, 24, 24)
    prep = {"normalization": "minmax", "patch_size": [12, 12, 12]}
    predictor = Predictor(instance, prep, InferenceConfig(overlap=0.0, channels_last=False))
    with torch.no_grad():
        windowed = predictor._run_network(x)
        whole = instance(x)
        first = instance(x[:, :, :12, :12, :12])
    assert not torch.allclose(windowed, whole, atol=1e-4)
    torch.testing.assert_close(windowed[:, :, :12, :12, :12], first, atol=1e-5, rtol=1e-4)

    # A model trained on whole-brain crops (SynergyNet's recipe marks its checkpoints so) runs
    # on the whole volume in one pass, instance norm or not.
    whole_prep = {**prep, "whole_volume": True}
    whole_predictor = Predictor(instance, whole_prep, InferenceConfig(channels_last=False))
    with torch.no_grad():
        torch.testing.assert_close(whole_predictor._run_network(x), whole)
