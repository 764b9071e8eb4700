"""Checkpoint -> probability map on the scan's own grid.

Flow for one native FLAIR (X, Y, Z):

1. affine registration to MNI152 (or pass-through for skull-stripped MNI input),
2. one trilinear resampling native -> model grid (voxel map composed from the registration),
3. intensity normalisation inside the brain as the checkpoint's ``preprocessing`` says,
4. network on the brain's bounding box: whole volume when it fits, else MONAI sliding window
   with Gaussian blending; optional flip TTA (mean, and std as uncertainty),
5. one trilinear resampling of the *probabilities* back to the native grid (threshold later,
   in :mod:`mslesion.infer.postprocess`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from mslesion.infer.crop import brain_box
from mslesion.infer.uncertainty import flip_sets, mean_and_std
from mslesion.io.nifti import NiftiVolume
from mslesion.preprocess import templates
from mslesion.preprocess.intensity import default_brain_mask, normalize
from mslesion.preprocess.register import (
    RegistrationConfig,
    register_to_template,
    resample_voxels,
    voxel_map,
)

DEFAULT_PREPROCESSING: dict[str, Any] = {
    "normalization": "minmax",
    "percentiles": [0.5, 99.5],
    "spacing": [1.0, 1.0, 1.0],
    "patch_size": [96, 96, 96],
}


@dataclass(frozen=True)
class InferenceConfig:
    """How to run the network.

    ``roi_size`` None takes the checkpoint's ``patch_size``. The cropped brain box (about
    150x185x150 voxels at 1 mm) is run in one pass when it has at most
    ``whole_volume_max_voxels`` voxels: on a CPU that is the fastest lever measured
    (``benchmarks/segment_speed.py``); memory grows linearly with it, so lower it for wide
    models. Otherwise MONAI sliding windows with Gaussian blending. ``threads`` None leaves
    torch's default.
    """

    roi_size: tuple[int, int, int] | None = None
    overlap: float = 0.25
    sw_batch_size: int = 1
    whole_volume_max_voxels: int = 200**3
    tta: bool = False
    uncertainty: bool = False
    device: str = "cpu"
    threads: int | None = None
    channels_last: bool = True
    margin_voxels: int = 4
    registration: RegistrationConfig = field(default_factory=RegistrationConfig)


@dataclass(frozen=True)
class Prediction:
    """Network output on the native grid of the input.

    ``probability``/``uncertainty``: float32 (X, Y, Z) on the input grid (uncertainty: TTA std,
    None without TTA). ``model_to_native``: 4x4 RAS mm map from MNI space to the scan's world
    space. ``timings``: seconds per stage.
    """

    probability: np.ndarray
    uncertainty: np.ndarray | None
    model_to_native: np.ndarray
    passthrough: bool
    timings: dict[str, float]


def normalizes_with_input_statistics(model: torch.nn.Module) -> bool:
    """True when some layer normalises with statistics of the input itself (instance or group
    norm, batch norm without running statistics), so outputs depend on the input's extent."""
    per_input = (torch.nn.modules.instancenorm._InstanceNorm, torch.nn.GroupNorm)
    for module in model.modules():
        if isinstance(module, per_input):
            return True
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and not (
            module.track_running_stats
        ):
            return True
    return False


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from mslesion.errors import InputError

        raise InputError(None, "--device cuda asked for but no CUDA device is available")
    return torch.device(name)


class Predictor:
    """A loaded model plus its preprocessing; call :meth:`predict` per scan."""

    def __init__(
        self, model: torch.nn.Module, preprocessing: dict[str, Any] | None, config: InferenceConfig
    ) -> None:
        self.config = config
        self.prep = {**DEFAULT_PREPROCESSING, **(preprocessing or {})}
        #: the checkpoint's own post-processing defaults (e.g. ``threshold``), if any
        self.postprocessing: dict[str, Any] = {}
        # A network that normalises with its input's own statistics sees other numbers on a
        # whole brain than on its training patches: run it on windows of the patch size,
        # unless it trained on (near) whole-brain crops, as SynergyNet's recipe does.
        self._whole_volume_ok = bool(
            self.prep.get("whole_volume")
        ) or not normalizes_with_input_statistics(model)
        self.device = resolve_device(config.device)
        if config.threads:
            torch.set_num_threads(config.threads)
        self.model = model.eval().to(self.device)
        if config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last_3d)

    @classmethod
    def from_checkpoint(cls, source: Any, config: InferenceConfig = InferenceConfig()) -> Predictor:
        from mslesion.errors import InputError, MSLesionError
        from mslesion.models.checkpoint import model_from_checkpoint

        try:
            model, ckpt = model_from_checkpoint(source)
        except MSLesionError:
            raise
        except Exception as exc:  # torch.load raises many types (e.g. KeyError) on garbage files
            where = None if isinstance(source, dict) else source
            raise InputError(
                where, f"corrupt or unreadable model file ({type(exc).__name__}: {exc})"[:200]
            ) from exc
        predictor = cls(model, ckpt.get("preprocessing"), config)
        predictor.postprocessing = dict(ckpt.get("postprocessing") or {})
        return predictor

    @property
    def default_threshold(self) -> float:
        """The model's own probability threshold (cross-validated at export), else 0.5."""
        return float(self.postprocessing.get("threshold", 0.5))

    @property
    def spacing(self) -> tuple[float, float, float]:
        # None: the model was trained on its data's own grid (the 1 mm MNI scans), so the
        # model space is the 1 mm MNI grid.
        spacing = self.prep.get("spacing")
        sp = np.broadcast_to(np.asarray(1.0 if spacing is None else spacing, dtype=float), (3,))
        return tuple(float(v) for v in sp)  # type: ignore[return-value]

    def _model_grid(self, volume: NiftiVolume, passthrough: bool) -> templates.Grid:
        if passthrough and np.allclose(volume.spacing, self.spacing, atol=1e-3):
            return templates.Grid(volume.shape, volume.affine)  # no resampling at all
        return templates.model_grid(self.spacing)

    def predict(self, volume: NiftiVolume, brain_mask: NiftiVolume | None = None) -> Prediction:
        """Probability (and TTA std) of lesion per voxel of ``volume``'s own grid."""
        times: dict[str, float] = {}
        t0 = time.perf_counter()
        reg = register_to_template(volume, self.config.registration)
        times["register"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        grid = self._model_grid(volume, reg.passthrough)
        to_native = voxel_map(grid.affine, reg.model_to_native, volume.affine)
        identity = grid.shape == volume.shape and np.allclose(to_native, np.eye(4), atol=1e-6)
        image = (
            volume.data
            if identity
            else resample_voxels(volume.data, to_native, grid.shape, order=1)
        )
        brain = self._brain_on_grid(
            volume, brain_mask, grid, to_native, identity, reg.passthrough, image
        )
        method = str(self.prep.get("normalization", "minmax"))
        pct = tuple(float(v) for v in self.prep.get("percentiles", (0.5, 99.5)))
        normed, _ = normalize(image, method, brain, pct)  # type: ignore[arg-type]
        times["preprocess"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        box = brain_box(brain, self.config.margin_voxels)
        prob_box, std_box = self._infer(normed[box])
        prob = np.zeros(grid.shape, dtype=np.float32)
        prob[box] = prob_box
        prob *= brain  # no lesions outside the brain (skull, scalp, eyes)
        std = None
        if std_box is not None:
            std = np.zeros(grid.shape, dtype=np.float32)
            std[box] = std_box
            std *= brain
        times["network"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        if not identity:
            to_model = np.linalg.inv(to_native)
            prob = resample_voxels(prob, to_model, volume.shape, order=1)
            std = None if std is None else resample_voxels(std, to_model, volume.shape, order=1)
        times["to_native"] = time.perf_counter() - t0
        return Prediction(np.clip(prob, 0, 1), std, reg.model_to_native, reg.passthrough, times)

    def _brain_on_grid(
        self,
        volume: NiftiVolume,
        mask: NiftiVolume | None,
        grid: templates.Grid,
        to_native: np.ndarray,
        identity: bool,
        passthrough: bool,
        image: np.ndarray,
    ) -> np.ndarray:
        """Brain mask on the model grid: the user's (resampled nearest), the scan's non-zero
        voxels for skull-stripped MNI input, else the template's."""
        if mask is not None:
            data = (
                mask.data
                if identity
                else resample_voxels(mask.data, to_native, grid.shape, order=0)
            )
            return data > 0.5
        if passthrough:
            return default_brain_mask(image)
        return templates.brain_mask_on_grid(self.spacing)

    @torch.inference_mode()
    def _infer(self, volume: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Network on one (X, Y, Z) array: mean probability and TTA std (or None)."""
        x = torch.from_numpy(np.ascontiguousarray(volume, dtype=np.float32))[None, None].to(
            self.device
        )
        flips = flip_sets(self.config.tta or self.config.uncertainty)
        passes = []
        for dims in flips:
            xi = torch.flip(x, dims) if dims else x
            p = torch.sigmoid(self._run_network(xi).float())
            passes.append(torch.flip(p, dims) if dims else p)
        mean, std = mean_and_std(passes)
        return mean[0, 0].cpu().numpy(), None if std is None else std[0, 0].cpu().numpy()

    def _run_network(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (1, 1, X, Y, Z) for input (1, 1, X, Y, Z)."""
        from monai.inferers import sliding_window_inference

        if self.config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        if self._whole_volume_ok and x[0, 0].numel() <= self.config.whole_volume_max_voxels:
            return self.model(x)
        roi = self.config.roi_size or tuple(
            int(v) for v in self.prep.get("patch_size", (96, 96, 96))
        )
        # windows never larger than the volume: MONAI would pad every window otherwise
        roi = tuple(min(int(r), int(s)) for r, s in zip(roi, x.shape[2:], strict=True))
        return sliding_window_inference(
            x,
            roi_size=roi,
            sw_batch_size=self.config.sw_batch_size,
            predictor=self.model,
            overlap=self.config.overlap,
            mode="gaussian",
            padding_mode="constant",
        )
