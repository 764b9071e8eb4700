"""Training volumes from real cases and/or synthetic scans, and the patch dataset over them.

Flow: ``Case`` (files) or a synthetic seed -> :func:`load_case` / :func:`synthetic_volume`
(normalised, optionally cached as memmaps) -> :class:`VolumeData` -> per-epoch patch plan
(:func:`plan_epoch`, lesion-aware, real/synthetic mixed by ratio) -> :class:`PatchDataset`
(crop + augmentation) -> DataLoader.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from mslesion.data.augment import augment_patch
from mslesion.data.cache import cache_key, cached_arrays
from mslesion.data.sampling import (
    PatchIndex,
    PatchRef,
    extract_patch,
    index_patches,
    sample_patches,
)
from mslesion.errors import InputError
from mslesion.io.cases import Case


@dataclass(frozen=True)
class PreprocessSettings:
    """How FLAIR intensities are normalised (F.sh: min-max to [0, 1] after percentile clipping).

    Volumes are used on their native grid (the shared data is 1 mm MNI already).
    """

    normalization: str = "minmax"
    percentiles: tuple[float, float] = (0.5, 99.5)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["percentiles"] = list(self.percentiles)
        return d


@dataclass
class VolumeData:
    """One training/validation volume: arrays (X, Y, Z) on one grid.

    ``image`` is normalised float (float16 when memmapped from the cache), ``mask`` and
    ``brain`` are uint8 0/1; ``spacing`` in mm.
    """

    name: str
    subject: str
    image: np.ndarray
    mask: np.ndarray
    brain: np.ndarray
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    source: str = "real"
    index: PatchIndex | None = field(default=None, repr=False)


def _normalize(image: np.ndarray, brain: np.ndarray, prep: PreprocessSettings) -> np.ndarray:
    from mslesion.preprocess.intensity import normalize

    out, _ = normalize(image, prep.normalization, brain > 0, prep.percentiles)
    return out


def load_case(
    case: Case, prep: PreprocessSettings, cache_dir: str | Path | None = None
) -> VolumeData:
    """Load, check and normalise a case's FLAIR + lesion mask (+ brain mask, else FLAIR > 0)."""
    from mslesion.io.nifti import load_mask, load_volume

    if case.lesion_mask is None:
        raise InputError(case.flair, f"case {case.case_id} has no lesion mask; training needs one")

    def build() -> dict[str, np.ndarray]:
        flair = load_volume(case.flair)
        mask = load_mask(case.lesion_mask, reference=flair).data
        if case.brain_mask is not None:
            brain = load_mask(case.brain_mask, reference=flair).data
        else:  # scans are skull-stripped: the non-zero voxels are the brain
            brain = (flair.data != 0).astype(np.uint8)
        spacing = np.asarray(flair.spacing, dtype=np.float32)
        return {
            "image": _normalize(flair.data, brain, prep),
            "mask": mask,
            "brain": brain,
            "spacing": spacing,
        }

    if cache_dir is None:
        arrays = build()
    else:
        key = cache_key([case.flair, case.lesion_mask, case.brain_mask], prep.to_dict())
        arrays = cached_arrays(cache_dir, key, build)
    return VolumeData(
        name=case.case_id,
        subject=case.subject,
        image=arrays["image"],
        mask=arrays["mask"],
        brain=arrays["brain"],
        spacing=tuple(float(s) for s in arrays["spacing"]),
        source="real",
    )


def synthetic_volume(
    seed: int, synth: dict[str, Any], prep: PreprocessSettings, cache_dir: str | Path | None = None
) -> VolumeData:
    """A semi-synthetic FLAIR from :func:`mslesion.synth.generate_case` (``synth``: its kwargs)."""
    from mslesion.synth import SynthConfig, generate_case
    from mslesion.synth import generate as synth_generate

    def build() -> dict[str, np.ndarray]:
        case = generate_case(seed, SynthConfig(**synth))
        spacing = np.linalg.norm(np.asarray(case.affine)[:3, :3], axis=0).astype(np.float32)
        return {
            "image": _normalize(case.flair, case.brain_mask, prep),
            "mask": case.lesion_mask,
            "brain": case.brain_mask,
            "spacing": spacing,
        }

    if cache_dir is None:
        arrays = build()
    else:
        settings = {"synthetic_seed": seed, "synth": synth, **prep.to_dict()}
        key = cache_key([], {**settings, "generator": synth_generate.GENERATOR_VERSION})
        arrays = cached_arrays(cache_dir, key, build)
    return VolumeData(
        name=f"synth{seed:05d}",
        subject=f"synth{seed:05d}",
        image=arrays["image"],
        mask=arrays["mask"],
        brain=arrays["brain"],
        spacing=tuple(float(s) for s in arrays["spacing"]),
        source="synthetic",
    )


@dataclass(frozen=True)
class SamplingSettings:
    """Patch grid and sampling: sizes in voxels; ``positive_share`` of patches hold lesion;
    ``synthetic_ratio`` of patches come from synthetic volumes (when there are both kinds)."""

    patch_size: tuple[int, int, int] = (64, 64, 64)
    stride: tuple[int, int, int] = (32, 32, 32)
    positive_share: float = 0.5
    min_lesion_voxels: int = 1
    min_brain_fraction: float = 0.25
    synthetic_ratio: float = 0.5


def attach_indices(volumes: list[VolumeData], sampling: SamplingSettings) -> None:
    """Compute each volume's positive/background grid patches (stored on ``volume.index``)."""
    for vol in volumes:
        vol.index = index_patches(
            np.asarray(vol.mask),
            np.asarray(vol.brain),
            sampling.patch_size,
            sampling.stride,
            min_lesion_voxels=sampling.min_lesion_voxels,
            min_brain_fraction=sampling.min_brain_fraction,
        )


def epoch_rng(seed: int, epoch: int, stream: int) -> np.random.Generator:
    """An independent generator per (run seed, epoch, purpose): plans do not depend on history."""
    return np.random.default_rng([int(seed), int(epoch), int(stream)])


def plan_epoch(
    volumes: list[VolumeData], n_patches: int, sampling: SamplingSettings, seed: int, epoch: int
) -> list[PatchRef]:
    """The ``n_patches`` patches of one epoch (volume index into ``volumes`` + corner).

    ``round(n * synthetic_ratio)`` come from synthetic volumes when both kinds exist; within
    each kind ``positive_share`` of patches hold lesion. Deterministic in (seed, epoch).
    """
    rng = epoch_rng(seed, epoch, 0)
    groups = {
        kind: [i for i, v in enumerate(volumes) if v.source == kind]
        for kind in ("real", "synthetic")
    }
    if not groups["real"] and not groups["synthetic"]:
        raise ValueError("no training volumes")
    if groups["real"] and groups["synthetic"]:
        n_syn = int(round(n_patches * sampling.synthetic_ratio))
    else:
        n_syn = n_patches if groups["synthetic"] else 0
    plan: list[PatchRef] = []
    for kind, n in (("real", n_patches - n_syn), ("synthetic", n_syn)):
        members = groups[kind]
        if n == 0 or not members:
            continue
        refs = sample_patches([volumes[i].index for i in members], n, sampling.positive_share, rng)  # type: ignore[misc]
        plan.extend(
            PatchRef(volume=members[r.volume], start=r.start, positive=r.positive) for r in refs
        )
    order = rng.permutation(len(plan))
    return [plan[i] for i in order]


class PatchDataset(Dataset):
    """Item ``i`` of an epoch plan: ``(image (1,X,Y,Z) float32, mask (1,X,Y,Z) float32)`` tensors.

    Augmentation (a MONAI Compose from :func:`~mslesion.data.augment.build_augmentation`, or
    None) is seeded per item from (seed, epoch, i), so results do not depend on workers.
    """

    def __init__(
        self,
        volumes: list[VolumeData],
        plan: list[PatchRef],
        patch_size: tuple[int, int, int],
        transform: Any = None,
        seed: int = 0,
        epoch: int = 0,
    ) -> None:
        self.volumes = volumes
        self.plan = plan
        self.patch_size = tuple(patch_size)
        self.transform = transform
        self.seed = seed
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        ref = self.plan[i]
        vol = self.volumes[ref.volume]
        image = extract_patch(vol.image, ref.start, self.patch_size).astype(np.float32)
        mask = extract_patch(vol.mask, ref.start, self.patch_size)
        if self.transform is not None:
            item_seed = int(np.random.SeedSequence([self.seed, self.epoch, i]).generate_state(1)[0])
            image, mask = augment_patch(self.transform, image, mask, item_seed)
        return (
            torch.from_numpy(np.ascontiguousarray(image))[None],
            torch.from_numpy(mask.astype(np.float32))[None],
        )
