"""Pair prediction, truth and extra files (brain mask, probabilities, FLAIR) case by case.

Cases are paired by a *case key* derived from each file name (see :func:`case_key` and
``docs/evaluation.md``): the NIfTI suffix, a ``GOLD_STANDARD_`` prefix and trailing role words
(``_mask``, ``_lesion_mask``, ``_pred``, ``_seg``, ``_FLAIR``, ``_prob``, ...) are removed,
case-insensitively; when several files in one folder tree then share a key, the key is their
parent folder path instead (open_ms_data's ``patientNN/GOLD_STANDARD_....nii.gz``).
Only file names are read here, never the images.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from mslesion.errors import InputError
from mslesion.io.nifti import is_nifti_path, strip_nifti_suffix

_PREFIXES = ("gold_standard_",)
_SUFFIXES = (
    "_lesion_mask",
    "_lesionmask",
    "_lesions",
    "_lesion",
    "_mask",
    "_pred",
    "_prediction",
    "_seg",
    "_segmentation",
    "_labels",
    "_label",
    "_gt",
    "_truth",
    "_consensus",
    "_probabilities",
    "_probability",
    "_probs",
    "_prob",
    "_brain_mask",
    "_brainmask",
    "_flair",
    "_0000",
)
# Which files of a mixed folder (e.g. MSLesSeg's P14/T1/ holding FLAIR, T1, T2 and MASK) play
# each role; if no file matches a role's pattern, every NIfTI file in the folder is used.
ROLE_PATTERNS = {
    "truth": re.compile(r"gold_standard|lesion|mask|_seg|label|_gt|truth|consensus", re.I),
    "pred": re.compile(r"pred|seg|mask|label", re.I),
    "brain": re.compile(r"brain_?mask", re.I),
    "prob": re.compile(r"prob", re.I),
    "flair": re.compile(r"(^|[_.-])flair([_.-]|$)", re.I),  # not "regtoFLAIR"
}
_EXCLUDE = {
    "truth": ("brain", "prob"),
    "pred": ("brain", "prob"),
}


def case_key(name: str) -> str:
    """``"GOLD_STANDARD_p1.nii.gz" -> "p1"``, ``"case7_FLAIR_pred.nii" -> "case7"``."""
    key = strip_nifti_suffix(Path(name).name)
    for prefix in _PREFIXES:
        if key.lower().startswith(prefix):
            key = key[len(prefix) :]
    changed = True
    while changed:  # strip stacked role words, e.g. "_FLAIR_pred"
        changed = False
        for suffix in _SUFFIXES:
            if key.lower().endswith(suffix) and len(key) > len(suffix):
                key, changed = key[: -len(suffix)], True
    return key


def _role_files(root: Path, role: str) -> list[Path]:
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and is_nifti_path(p) and not p.name.startswith(".")
    )
    for other in _EXCLUDE.get(role, ()):
        files = [p for p in files if not ROLE_PATTERNS[other].search(p.name)] or files
    chosen = [p for p in files if ROLE_PATTERNS[role].search(p.name)]
    return chosen or files


def index_cases(path: Path, role: str) -> dict[str, Path]:
    """Case key -> file for a file or a folder (searched recursively)."""
    if not path.exists():
        raise InputError(path, "not found")
    if path.is_file():
        return {case_key(path.name): path}
    files = _role_files(path, role)
    if not files:
        raise InputError(path, f"no NIfTI files (.nii/.nii.gz) found for {role}")
    keys = [case_key(p.name) for p in files]
    if len(set(keys)) < len(keys):
        # Same file name in every case folder (open_ms_data): the folder names the case.
        keys = ["_".join(p.relative_to(path).parent.parts) for p in files]
    if len(set(keys)) < len(keys) or "" in keys:
        dup = sorted({k for k in keys if keys.count(k) > 1} or {"<root>"})
        raise InputError(path, f"cannot tell {role} cases apart by name (duplicate key {dup[0]!r})")
    return dict(zip(keys, files, strict=True))


def one_for_all(mapping: dict[str, Path], keys: Sequence[str]) -> dict[str, Path]:
    """A single file given for a folder of cases applies to every case."""
    if len(mapping) == 1 and len(keys) > 1:
        only = next(iter(mapping.values()))
        return dict.fromkeys(keys, only)
    return mapping


def pair_cases(
    truth: dict[str, Path],
    other: dict[str, Path],
    other_root: Path,
    what: str,
    partial: bool = False,
) -> dict[str, Path]:
    """Align ``other`` to the truth keys; raise a one-line error naming unpaired cases.

    With ``partial`` (FLAIR for figures), unpaired files on either side are allowed as long
    as at least one case pairs.
    """
    if len(truth) == 1 and len(other) == 1:
        return {next(iter(truth)): next(iter(other.values()))}
    by_lower = {k.lower(): v for k, v in other.items()}
    missing = [k for k in truth if k.lower() not in by_lower]
    extra = sorted(set(by_lower) - {k.lower() for k in truth})
    if partial and len(missing) < len(truth):
        return {k: by_lower[k.lower()] for k in truth if k.lower() in by_lower}
    if missing:
        raise InputError(
            other_root, f"no {what} for {len(missing)} truth case(s): {format_keys(missing)}"
        )
    if extra:
        raise InputError(
            other_root, f"{len(extra)} {what} file(s) have no truth case: {format_keys(extra)}"
        )
    return {k: by_lower[k.lower()] for k in truth}


def format_keys(keys: Sequence[str], limit: int = 5) -> str:
    """Sorted keys for an error message, at most ``limit`` then a count of the rest."""
    shown = ", ".join(sorted(keys)[:limit])
    return shown + (f" (+{len(keys) - limit} more)" if len(keys) > limit else "")
