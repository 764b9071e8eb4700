"""SynergyNet's staged training schedule: which loss terms and parameter groups train when.

Stages (paper: 30 / 30 / 40 / 100 epochs, scaled by ``StagedSchedule.scale``):

1. RPN with the feature extractor (U-Net encoder + decoder): ``rpn_cls``, ``rpn_box``.
2. + R-CNN box head: ``rcnn_cls``, ``rcnn_box``.
3. + mask head: ``mask``.
4. + the rest of the decoder (the U-Net's segmentation head): ``seg`` on the fused map.

Group names match :data:`mslesion.models.synergynet.PARAMETER_GROUPS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from torch import nn

STAGE_TERMS: tuple[tuple[str, ...], ...] = (
    ("rpn_cls", "rpn_box"),
    ("rcnn_cls", "rcnn_box"),
    ("mask",),
    ("seg",),
)
STAGE_GROUPS: tuple[tuple[str, ...], ...] = (
    ("backbone", "rpn"),
    ("rcnn",),
    ("mask",),
    ("unet_head",),
)


@dataclass(frozen=True)
class Stage:
    """The training state at one epoch: 1-based stage index, active loss terms and groups."""

    index: int
    loss_terms: frozenset[str]
    param_groups: frozenset[str]


@dataclass(frozen=True)
class StagedSchedule:
    """Epochs per stage (paper 30/30/40/100) times ``scale`` (each stage keeps >= 1 epoch).

    ``only_terms`` restricts every stage to those terms (e.g. Mask R-CNN alone drops
    ``seg``); stages left without any term are skipped.
    """

    stage_epochs: tuple[int, ...] = (30, 30, 40, 100)
    scale: float = 1.0
    only_terms: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if len(self.stage_epochs) != len(STAGE_TERMS):
            raise ValueError(f"need {len(STAGE_TERMS)} stage lengths, got {len(self.stage_epochs)}")
        if self.scale <= 0 or any(e < 0 for e in self.stage_epochs):
            raise ValueError("stage lengths and scale must be positive")

    def epochs_per_stage(self) -> tuple[int, ...]:
        """Scaled epochs of each stage (0 for stages skipped by ``only_terms``)."""
        out = []
        for epochs, terms in zip(self.stage_epochs, STAGE_TERMS, strict=True):
            kept = self.only_terms is None or bool(set(terms) & self.only_terms)
            out.append(max(1, round(epochs * self.scale)) if kept and epochs > 0 else 0)
        return tuple(out)

    @property
    def total_epochs(self) -> int:
        return sum(self.epochs_per_stage())

    def stage_at(self, epoch: int) -> Stage:
        """The stage of 0-based ``epoch``; epochs past the end stay in the last stage."""
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        lengths = self.epochs_per_stage()
        last = max(i for i, n in enumerate(lengths) if n > 0)
        end, index = 0, last
        for i, n in enumerate(lengths):
            end += n
            if epoch < end:
                index = i
                break
        terms = {t for ts in STAGE_TERMS[: index + 1] for t in ts}
        groups = {g for gs in STAGE_GROUPS[: index + 1] for g in gs}
        if self.only_terms is not None:
            terms &= set(self.only_terms)
        return Stage(index=index + 1, loss_terms=frozenset(terms), param_groups=frozenset(groups))


def set_trainable(groups: Mapping[str, Sequence[nn.Parameter]], active: Iterable[str]) -> int:
    """Freeze every parameter outside the ``active`` groups; returns the trainable count."""
    active = set(active)
    unknown = active - set(groups)
    if unknown:
        raise ValueError(f"unknown parameter groups {sorted(unknown)}")
    count = 0
    for name, params in groups.items():
        for p in params:
            p.requires_grad_(name in active)
            count += p.numel() if name in active else 0
    return count
