"""Subject-wise train/validation splits and k folds: one patient's scans (e.g. the three time
points of MSLesSeg P14) always fall on the same side."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mslesion.errors import ConfigError
from mslesion.io.cases import Case


def subjects_of(cases: Sequence[Case]) -> list[str]:
    """Distinct subjects, sorted (so splits do not depend on discovery order)."""
    return sorted({c.subject for c in cases})


def _partition(cases: Sequence[Case], val: set[str]) -> tuple[list[Case], list[Case]]:
    train = [c for c in cases if c.subject not in val]
    valid = [c for c in cases if c.subject in val]
    return train, valid


def split_by_subjects(
    cases: Sequence[Case], val_subjects: Sequence[str]
) -> tuple[list[Case], list[Case]]:
    """Validation = the cases of the named subjects; raises ConfigError for unknown names."""
    known = set(subjects_of(cases))
    unknown = [s for s in val_subjects if s not in known]
    if unknown:
        raise ConfigError(
            f"split.val_subjects: no case of subject(s) {', '.join(unknown)}; "
            f"subjects found: {', '.join(sorted(known))}"
        )
    return _partition(cases, set(val_subjects))


def kfold_subjects(subjects: Sequence[str], n_folds: int, seed: int = 0) -> list[list[str]]:
    """Shuffle subjects with ``seed`` and deal them into ``n_folds`` folds of near-equal size."""
    if n_folds < 2:
        raise ConfigError(f"split.n_folds: must be >= 2, got {n_folds}")
    if len(subjects) < n_folds:
        raise ConfigError(
            f"split.n_folds: {n_folds} folds need at least {n_folds} subjects, "
            f"found {len(subjects)}"
        )
    order = np.random.default_rng(seed).permutation(sorted(subjects))
    return [sorted(str(s) for s in order[k::n_folds]) for k in range(n_folds)]


def split_fold(
    cases: Sequence[Case], fold: int, n_folds: int, seed: int = 0
) -> tuple[list[Case], list[Case]]:
    """Fold ``fold`` (0-based) of ``n_folds`` is the validation set."""
    if not 0 <= fold < n_folds:
        raise ConfigError(f"split.fold: must lie in [0, {n_folds}), got {fold}")
    folds = kfold_subjects(subjects_of(cases), n_folds, seed)
    return _partition(cases, set(folds[fold]))


def held_out_subjects(subjects: Sequence[str], val_fraction: float, seed: int = 0) -> set[str]:
    """About ``val_fraction`` of the distinct ``subjects`` drawn with ``seed`` (at least one
    when there are two or more, and at least one left to train on; none for a fraction <= 0)."""
    distinct = sorted(set(subjects))
    if val_fraction <= 0 or len(distinct) < 2:
        return set()
    n_val = min(len(distinct) - 1, max(1, int(round(val_fraction * len(distinct)))))
    return {str(s) for s in np.random.default_rng(seed).permutation(distinct)[:n_val]}


def split_fraction(
    cases: Sequence[Case], val_fraction: float, seed: int = 0
) -> tuple[list[Case], list[Case]]:
    """About ``val_fraction`` of subjects for validation (see :func:`held_out_subjects`)."""
    return _partition(cases, held_out_subjects([c.subject for c in cases], val_fraction, seed))
