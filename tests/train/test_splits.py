"""Subject-wise splits: no subject on both sides, ever."""

from __future__ import annotations

from pathlib import Path

import pytest

from mslesion.errors import ConfigError
from mslesion.io.cases import Case
from mslesion.train.splits import kfold_subjects, split_by_subjects, split_fold, split_fraction


def _cases() -> list[Case]:
    out = []
    for s in range(7):
        for t in range(1 + s % 3):  # 1-3 time points per subject, like MSLesSeg P14
            out.append(
                Case(f"P{s}_T{t}", f"P{s}", Path(f"P{s}_T{t}_FLAIR.nii.gz"), timepoint=f"T{t}")
            )
    return out


def _subjects(cases: list[Case]) -> set[str]:
    return {c.subject for c in cases}


def test_named_subjects_take_all_their_time_points() -> None:
    train, val = split_by_subjects(_cases(), ["P2"])
    assert [c.case_id for c in val] == ["P2_T0", "P2_T1", "P2_T2"]
    assert "P2" not in _subjects(train) and len(train) + len(val) == len(_cases())


def test_unknown_subject_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="split.val_subjects: no case of subject.*P99"):
        split_by_subjects(_cases(), ["P99"])


@pytest.mark.parametrize("n_folds", [2, 3, 5])
def test_folds_partition_subjects_and_never_leak(n_folds: int) -> None:
    cases = _cases()
    seen: list[str] = []
    for k in range(n_folds):
        train, val = split_fold(cases, k, n_folds, seed=4)
        assert _subjects(train).isdisjoint(_subjects(val))
        assert val and len(train) + len(val) == len(cases)
        seen += sorted(_subjects(val))
    assert sorted(seen) == sorted(_subjects(cases))  # every subject validated exactly once
    sizes = [len(f) for f in kfold_subjects(sorted(_subjects(cases)), n_folds)]
    assert max(sizes) - min(sizes) <= 1


def test_fraction_split_is_subject_wise_and_seeded() -> None:
    cases = _cases()
    train, val = split_fraction(cases, 0.3, seed=1)
    assert _subjects(train).isdisjoint(_subjects(val)) and len(_subjects(val)) == 2
    assert split_fraction(cases, 0.3, seed=1) == (train, val)


def test_too_many_folds_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="n_folds"):
        split_fold(_cases()[:2], 0, 5)
