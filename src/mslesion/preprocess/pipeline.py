"""The preprocessing pipeline: reorient -> resample -> (N4) -> normalise -> crop/pad, recorded.

``preprocess(volume, config)`` returns the model-ready array and a :class:`PreprocessRecord`.
The record maps any other array between the grids: ``record.apply(mask, is_mask=True)`` takes
a native-grid mask onto the preprocessed grid; ``record.to_native(pred, is_mask=True)`` takes a
preprocessed-grid result back to the original file's grid (same shape and affine as the input).
It serialises to JSON with ``to_dict``/``from_dict``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from mslesion.errors import ConfigError
from mslesion.io.nifti import NiftiVolume
from mslesion.preprocess.intensity import IntensityRecord, n4_bias_correct, normalize
from mslesion.preprocess.spatial import (
    CropRecord,
    ReorientRecord,
    ResampleRecord,
    Shape3,
    crop_to_mask,
    crop_to_shape,
    reorient_to_ras,
    resample_to_spacing,
    spacing_of,
)

NORMALIZATIONS = ("minmax", "zscore", "none")
RECORD_VERSION = 1


@dataclass(frozen=True)
class PreprocessConfig:
    """What to do to a FLAIR before it reaches a model.

    Attributes:
        spacing: target voxel size in mm (X, Y, Z), or None to keep the native spacing.
        interpolation: image interpolation when resampling, "linear" or "bspline" (masks always
            use nearest neighbour).
        n4: run N4 bias-field correction (SimpleITK) after resampling.
        normalization: "minmax" ([0, 1], F.sh), "zscore" (in brain, SynergyNet) or "none".
        percentiles: robust clipping bounds (in %) applied before normalising.
        crop: "none", "brain" (bounding box of the brain + ``margin`` voxels) or a fixed
            (X, Y, Z) shape in voxels, e.g. (128, 160, 128), centred on the brain and padded.
        margin: voxels kept around the brain for ``crop="brain"``.
    """

    spacing: tuple[float, float, float] | None = (1.0, 1.0, 1.0)
    interpolation: str = "linear"
    n4: bool = False
    normalization: str = "minmax"
    percentiles: tuple[float, float] = (0.5, 99.5)
    crop: str | tuple[int, int, int] = "none"
    margin: int = 8

    def __post_init__(self) -> None:
        if self.spacing is not None and (len(self.spacing) != 3 or min(self.spacing) <= 0):
            raise ConfigError(f"spacing must be three positive numbers in mm, got {self.spacing}")
        if self.interpolation not in ("linear", "bspline"):
            raise ConfigError(
                f"interpolation must be 'linear' or 'bspline', got {self.interpolation!r}"
            )
        if self.normalization not in NORMALIZATIONS:
            raise ConfigError(
                f"normalization must be one of {', '.join(NORMALIZATIONS)}, "
                f"got {self.normalization!r}"
            )
        lo, hi = self.percentiles
        if not 0 <= lo < hi <= 100:
            raise ConfigError(
                f"percentiles must satisfy 0 <= low < high <= 100, got {self.percentiles}"
            )
        if isinstance(self.crop, str):
            if self.crop not in ("none", "brain"):
                raise ConfigError(
                    f"crop must be 'none', 'brain' or a shape like 128x160x128, got {self.crop!r}"
                )
        elif len(self.crop) != 3 or min(self.crop) < 1:
            raise ConfigError(f"crop shape must be three positive integers, got {self.crop}")
        if self.margin < 0:
            raise ConfigError(f"margin must be >= 0, got {self.margin}")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PreprocessConfig:
        """Build from a dict such as a checkpoint's ``"preprocessing"`` (unknown keys ignored)."""
        known = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        for key in ("spacing", "percentiles"):
            if kw.get(key) is not None:
                kw[key] = tuple(float(v) for v in kw[key])
        if "crop" in kw and not isinstance(kw["crop"], str):
            kw["crop"] = tuple(int(v) for v in kw["crop"])
        return cls(**kw)


def parse_crop(text: str) -> str | tuple[int, int, int]:
    """CLI form -> config form: "none", "brain" or "128x160x128" -> (128, 160, 128)."""
    if text in ("none", "brain"):
        return text
    parts = text.lower().split("x")
    if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise ConfigError(f"crop must be 'none', 'brain' or a shape like 128x160x128, got {text!r}")
    return (int(parts[0]), int(parts[1]), int(parts[2]))


@dataclass(frozen=True)
class PreprocessRecord:
    """Everything :func:`preprocess` did, enough to map arrays between the two grids."""

    config: PreprocessConfig
    reorient: ReorientRecord
    resample: ResampleRecord | None
    crop: CropRecord | None
    intensity: IntensityRecord | None
    n4: bool
    out_affine: tuple[float, ...]

    @property
    def native_shape(self) -> Shape3:
        return self.reorient.in_shape

    @property
    def native_affine(self) -> np.ndarray:
        return np.asarray(self.reorient.in_affine).reshape(4, 4)

    @property
    def affine(self) -> np.ndarray:
        """4x4 affine of the preprocessed grid (voxel -> RAS+ mm), for saving outputs."""
        return np.asarray(self.out_affine).reshape(4, 4)

    @property
    def shape(self) -> Shape3:
        if self.crop is not None:
            return self.crop.out_shape
        if self.resample is not None:
            return self.resample.out_shape
        return tuple(self.native_shape[a] for a, _ in self.reorient.ornt)  # type: ignore[return-value]

    @property
    def spacing(self) -> tuple[float, float, float]:
        return spacing_of(self.affine)

    def apply(self, array: np.ndarray, is_mask: bool = True) -> np.ndarray:
        """Spatial steps only: a native-grid (X, Y, Z) array onto the preprocessed grid."""
        _check_shape(array, self.native_shape, "native")
        out = self.reorient.apply(array)
        if self.resample is not None:
            out = self.resample.apply(out, is_mask=is_mask)
        if self.crop is not None:
            out = self.crop.apply(out)
        return out

    def to_native(self, array: np.ndarray, is_mask: bool = True) -> np.ndarray:
        """A preprocessed-grid (X, Y, Z) array back onto the original file's grid.

        Masks use nearest neighbour and come back as uint8; other arrays (probabilities,
        images) use linear interpolation and come back as float32. Voxels outside the crop
        become 0. Intensities are not un-normalised (see :meth:`intensity_to_native`).
        """
        _check_shape(array, self.shape, "preprocessed")
        out = (
            (np.asarray(array) > 0.5).astype(np.uint8)
            if is_mask
            else np.asarray(array, dtype=np.float32)
        )
        if self.crop is not None:
            out = self.crop.invert(out)
        if self.resample is not None:
            out = self.resample.invert(out, is_mask=is_mask)
        return self.reorient.invert(out)

    def intensity_to_native(self, array: np.ndarray) -> np.ndarray:
        """A preprocessed image back to the native grid and the (clipped) native intensity scale."""
        out = self.to_native(array, is_mask=False)
        return self.intensity.invert(out).astype(np.float32) if self.intensity is not None else out

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": RECORD_VERSION,
            "config": self.config.to_dict(),
            "reorient": self.reorient.to_dict(),
            "resample": None if self.resample is None else self.resample.to_dict(),
            "crop": None if self.crop is None else self.crop.to_dict(),
            "intensity": None if self.intensity is None else dataclasses.asdict(self.intensity),
            "n4": self.n4,
            "out_affine": list(self.out_affine),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PreprocessRecord:
        if d.get("version") != RECORD_VERSION:
            raise ConfigError(
                f"preprocessing record version {d.get('version')!r} is not {RECORD_VERSION}"
            )
        return cls(
            config=PreprocessConfig.from_dict(d["config"]),
            reorient=ReorientRecord.from_dict(d["reorient"]),
            resample=None if d["resample"] is None else ResampleRecord.from_dict(d["resample"]),
            crop=None if d["crop"] is None else CropRecord.from_dict(d["crop"]),
            intensity=None if d["intensity"] is None else IntensityRecord(**d["intensity"]),
            n4=bool(d["n4"]),
            out_affine=tuple(float(v) for v in d["out_affine"]),
        )


def _check_shape(array: np.ndarray, expected: Shape3, grid: str) -> None:
    if tuple(array.shape[:3]) != tuple(expected):
        raise ValueError(f"array of shape {array.shape} is not on the {grid} grid {expected}")


def preprocess(
    volume: NiftiVolume,
    config: PreprocessConfig = PreprocessConfig(),
    brain_mask: NiftiVolume | None = None,
) -> tuple[np.ndarray, PreprocessRecord]:
    """Run the pipeline on one image.

    Args:
        volume: the native FLAIR (X, Y, Z).
        config: the steps to run.
        brain_mask: optional brain mask on the same grid; without it the non-zero voxels
            (skull-stripped scans) are taken as the brain for normalisation and cropping.

    Returns:
        (float32 array on the preprocessed grid, record). ``record.affine`` places the array in
        world space.
    """
    data, affine, reorient = reorient_to_ras(
        volume.data.astype(np.float32, copy=False), volume.affine
    )
    brain = None if brain_mask is None else reorient.apply(brain_mask.data > 0).astype(np.uint8)
    resample = None
    if config.spacing is not None and not np.allclose(
        spacing_of(affine), config.spacing, atol=1e-4
    ):
        data, affine, resample = resample_to_spacing(
            data, affine, config.spacing, config.interpolation
        )
        if brain is not None:
            brain = resample.apply(brain, is_mask=True)
    brain_bool = (data != 0) if brain is None else brain.astype(bool)
    if not brain_bool.any():
        brain_bool = np.ones(data.shape, dtype=bool)
    if config.n4:
        data = n4_bias_correct(data, spacing_of(affine), brain_bool)
    intensity = None
    if config.normalization != "none":
        data, intensity = normalize(data, config.normalization, brain_bool, config.percentiles)
    crop = None
    if config.crop == "brain":
        crop = crop_to_mask(brain_bool, config.margin)
    elif not isinstance(config.crop, str):
        crop = crop_to_shape(data.shape, config.crop, brain_bool)  # type: ignore[arg-type]
    if crop is not None:
        data = crop.apply(data)
        affine = crop.affine_after(affine)
    record = PreprocessRecord(
        config=config,
        reorient=reorient,
        resample=resample,
        crop=crop,
        intensity=intensity,
        n4=config.n4,
        out_affine=tuple(float(v) for v in affine.ravel()),
    )
    return data.astype(np.float32, copy=False), record
