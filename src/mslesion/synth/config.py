"""Configuration and result records of the FLAIR synthesiser."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from mslesion.errors import ConfigError

LesionLoad = Literal["low", "medium", "high"]
AnatomySource = Literal["mni", "real"]
LesionSource = Literal["procedural", "library"]
BrainMaskStyle = Literal["mixed", "loose", "tight"]

#: Number of lesions drawn per load level (inclusive range, before tiny ones are dropped).
LESION_COUNTS: dict[str, tuple[int, int]] = {"low": (4, 15), "medium": (25, 75), "high": (100, 250)}


@dataclass(frozen=True)
class SynthConfig:
    """Everything that shapes one synthetic case besides its seed.

    Attributes:
        voxel_size_mm: isotropic output voxel size; 1.0 gives the 182x218x182 MNI grid, 3.0 a
            61x73x61 volume for fast tests (same field of view).
        lesion_load: "low" (a handful), "medium" (tens) or "high" (up to hundreds,
            with confluent bands).
        anatomy: "mni" (built-in nilearn MNI152 2009a maps) or "real" (a lesion-filled real scan
            from the shared data folder).
        lesions: "procedural" (built-in shapes) or "library" (real lesion shapes, shared data).
        snr: typical white-matter intensity over the Rician noise sigma (each case draws its
            own within 2x either way, as scans differ); None or 0 disables noise.
        slice_thickness_mm: simulate thick axial slices (Gaussian blur along Z with this FWHM);
            None keeps the isotropic resolution.
        deform: apply the random elastic/affine/ventricle-enlargement deformation.
        bias: apply the smooth multiplicative bias field.
        brain_mask: where the brain mask is cut (:mod:`mslesion.synth.skullstrip`): "loose"
            (the CSF round the brain kept, a dark rim round the cortex), "tight" (cut at the
            pial surface, the cortex meets the background) or "mixed" (each seed draws one,
            ``skullstrip.TIGHT_SHARE`` of them tight). Built-in anatomy only.
        min_lesion_voxels: lesions smaller than this many 1 mm^3 voxels (after clipping to tissue)
            are dropped (on coarser grids: the same volume, at least one voxel).
        data_root: shared data folder for "real"/"library" (None: found via mslesion.paths).
    """

    voxel_size_mm: float = 1.0
    lesion_load: LesionLoad = "medium"
    anatomy: AnatomySource = "mni"
    lesions: LesionSource = "procedural"
    snr: float | None = 14.0
    slice_thickness_mm: float | None = None
    deform: bool = True
    bias: bool = True
    brain_mask: BrainMaskStyle = "mixed"
    min_lesion_voxels: int = 3
    data_root: str | None = None

    def __post_init__(self) -> None:
        if not 0.5 <= self.voxel_size_mm <= 6.0:
            raise ConfigError(f"voxel_size_mm must be within [0.5, 6] mm, got {self.voxel_size_mm}")
        if self.lesion_load not in LESION_COUNTS:
            raise ConfigError(
                f"lesion_load must be one of {sorted(LESION_COUNTS)}, got {self.lesion_load!r}"
            )
        if self.anatomy not in ("mni", "real"):
            raise ConfigError(f"anatomy must be 'mni' or 'real', got {self.anatomy!r}")
        if self.lesions not in ("procedural", "library"):
            raise ConfigError(f"lesions must be 'procedural' or 'library', got {self.lesions!r}")
        if self.brain_mask not in ("mixed", "loose", "tight"):
            raise ConfigError(
                f"brain_mask must be 'mixed', 'loose' or 'tight', got {self.brain_mask!r}"
            )
        if self.snr is not None and self.snr < 0:
            raise ConfigError(f"snr must be positive (or None for no noise), got {self.snr}")
        if self.slice_thickness_mm is not None and self.slice_thickness_mm < 0:
            raise ConfigError(f"slice_thickness_mm must be positive, got {self.slice_thickness_mm}")


@dataclass(frozen=True)
class SynthCase:
    """One synthetic case on a grid of ``flair.shape`` voxels of ``voxel_size_mm``.

    Attributes:
        flair: float32 (X, Y, Z) FLAIR intensities (arbitrary scanner-like scale, 0 outside brain).
        lesion_mask: uint8 (X, Y, Z) exact lesion truth (1 = lesion).
        brain_mask: uint8 (X, Y, Z) brain (GM + WM + CSF inside the skull-stripped brain).
        affine: 4x4 voxel-to-world (LAS voxel order, RAS+ mm world) matrix.
        lesions: one dict per lesion: ``label`` (value in ``labels`` below), ``zone``
            (periventricular / juxtacortical / deep_wm / infratentorial), ``shape``,
            ``voxels``, ``volume_mm3``, ``centre_vox``, ``contrast`` (lesion/WM ratio).
        seed: the seed it was made from.
        acquisition: how the case was drawn: "2D" (thick axial slices resampled to the grid,
            smooth along Z) or "3D" (isotropic, sharper, noisier); ``flair.TWO_D_SHARE`` of the
            seeds draw 2D.
        brain_mask_style: where its brain mask was cut: "loose" (outer CSF kept) or "tight"
            (at the pial surface); see ``SynthConfig.brain_mask``.
    """

    flair: np.ndarray
    lesion_mask: np.ndarray
    brain_mask: np.ndarray
    affine: np.ndarray
    lesions: list[dict[str, Any]] = field(default_factory=list)
    seed: int = 0
    acquisition: str = "3D"
    brain_mask_style: str = "loose"

    @property
    def voxel_volume_mm3(self) -> float:
        return float(abs(np.linalg.det(self.affine[:3, :3])))
