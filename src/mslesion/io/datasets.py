"""Find cases (FLAIR + optional T1/T2, lesion mask, brain mask) in the layouts real data comes in.

Supported layouts, detected per folder from the top down (the first that matches a folder wins;
a folder that matches none is searched one level deeper, so a parent holding several datasets,
such as ``shared/data/real/``, is found whole):

- **nnU-Net raw**: ``imagesTr/<case>_0000.nii.gz`` (+ ``labelsTr/<case>.nii.gz``, ``imagesTs/``);
  ``dataset.json``'s ``channel_names`` (v2) or ``modality`` (v1) says which channel is FLAIR.
- **BIDS**: ``sub-*/[ses-*/]anat/*_FLAIR.nii.gz``; lesion masks under
  ``derivatives/*/sub-*/[ses-*/]anat/`` named ``*label-lesion*`` or ``*FLAIR*mask*``.
- **open_ms_data**: ``patientNN/FLAIR_*.nii.gz``, ``T1_*``, ``T2_*``, ``GOLD_STANDARD_*``
  (longitudinal ``studyN_FLAIR*`` too). Patients with a mask but no FLAIR are skipped.
- **MSLesSeg**: ``PNN/TN/PNN_TN_FLAIR.nii.gz`` + ``_MASK``, ``_T1``, ``_T2`` (subject PNN,
  time point TN); ``PNN/PNN_FLAIR.nii.gz`` without time points is accepted too.
- **flat folder**: ``<case>_FLAIR.nii.gz`` + ``<case>_mask.nii.gz`` (or ``_lesion_mask``), optional
  ``_brainmask``, ``_T1``, ``_T2``; or a folder of plain FLAIR files without masks.
- **CSV manifest** (a ``.csv`` file): see :func:`mslesion.io.manifest.read_manifest`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mslesion.errors import InputError
from mslesion.io.cases import Case
from mslesion.io.manifest import MANIFEST_COLUMNS, read_manifest, write_manifest
from mslesion.io.nifti import is_nifti_path, strip_nifti_suffix

# The manifest functions live in :mod:`mslesion.io.manifest`; re-exported for callers.
__all__ = [
    "MANIFEST_COLUMNS",
    "Discovery",
    "Skipped",
    "discover",
    "find_cases",
    "read_manifest",
    "write_manifest",
]

_MAX_DEPTH = 6


@dataclass(frozen=True)
class Skipped:
    """A folder or file that looked like data but is not a usable case, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Discovery:
    """Everything :func:`discover` found: usable cases and what was skipped."""

    cases: list[Case] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def merge(self, other: Discovery) -> Discovery:
        return Discovery(self.cases + other.cases, self.skipped + other.skipped)


def find_cases(path: str | Path) -> list[Case]:
    """All cases under ``path`` (a folder, a CSV manifest, or one NIfTI file), sorted by case id.

    Raises:
        InputError: the path does not exist, or holds no case with a FLAIR image.
    """
    return discover(path).cases


def discover(path: str | Path) -> Discovery:
    """Like :func:`find_cases`, also returning what was skipped (e.g. masks without a FLAIR)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "not found")
    if path.is_file():
        if path.suffix.lower() == ".csv":
            return Discovery(read_manifest(path))
        if is_nifti_path(path):
            case_id = strip_nifti_suffix(path.name)
            return Discovery([Case(case_id=case_id, subject=case_id, flair=path.resolve())])
        raise InputError(path, "expected a folder, a .csv manifest or a .nii/.nii.gz file")
    found = _discover_dir(path.resolve(), depth=0)
    if not found.cases:
        why = f" ({len(found.skipped)} skipped: {found.skipped[0].reason})" if found.skipped else ""
        raise InputError(
            path,
            "no cases with a FLAIR image found (looked for nnU-Net, BIDS, open_ms_data, MSLesSeg, "
            f"flat <case>_FLAIR.nii.gz folders){why}",
        )
    cases = _unique_ids(
        sorted(found.cases, key=lambda c: (c.subject, c.timepoint or "", c.case_id))
    )
    return Discovery(cases, found.skipped)


def _unique_ids(cases: list[Case]) -> list[Case]:
    """Prefix duplicated case ids with their source (two datasets may both have a 'patient01')."""
    counts: dict[str, int] = {}
    for case in cases:
        counts[case.case_id] = counts.get(case.case_id, 0) + 1
    out = []
    for case in cases:
        if counts[case.case_id] > 1:
            parent = case.flair.parent.name
            out.append(
                Case(**{**_case_fields(case), "case_id": f"{case.source}-{parent}-{case.case_id}"})
            )
        else:
            out.append(case)
    return out


def _case_fields(case: Case) -> dict[str, object]:
    return {name: getattr(case, name) for name in Case.__dataclass_fields__}


# ----------------------------------------------------------------------------- folder walking


def _nifti_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and is_nifti_path(p) and not p.name.startswith(".")
    )


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _discover_dir(folder: Path, depth: int) -> Discovery:
    for detector in _DETECTORS:
        result = detector(folder)
        if result is not None:
            return result
    found = Discovery()
    if depth >= _MAX_DEPTH:
        return found
    for sub in _subdirs(folder):
        if sub.name == "derivatives":
            continue
        found = found.merge(_discover_dir(sub, depth + 1))
    return found


# ----------------------------------------------------------------------------- nnU-Net


def _nnunet(folder: Path) -> Discovery | None:
    if not (folder / "imagesTr").is_dir() and not (folder / "imagesTs").is_dir():
        return None
    channel, ending = _nnunet_flair_channel(folder)
    found = Discovery()
    for split, labels in (("imagesTr", "labelsTr"), ("imagesTs", "labelsTs")):
        images = folder / split
        if not images.is_dir():
            continue
        pattern = re.compile(rf"^(?P<case>.+)_(?P<ch>\d{{4}}){re.escape(ending)}$")
        for path in sorted(images.iterdir()):
            m = pattern.match(path.name)
            if m is None or int(m["ch"]) != channel:
                continue
            case_id = m["case"]
            label = folder / labels / f"{case_id}{ending}"
            found.cases.append(
                Case(
                    case_id=case_id,
                    subject=case_id,
                    flair=path,
                    lesion_mask=label if label.is_file() else None,
                    source="nnunet",
                    extra={"split": "train" if split == "imagesTr" else "test"},
                )
            )
    return found


def _nnunet_flair_channel(folder: Path) -> tuple[int, str]:
    """(channel index holding FLAIR, file ending) from dataset.json; channel 0 when unnamed."""
    meta_path = folder / "dataset.json"
    if not meta_path.is_file():
        return 0, ".nii.gz"
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(meta_path, f"not valid JSON ({exc})") from exc
    names = meta.get("channel_names") or meta.get("modality") or {}
    ending = str(meta.get("file_ending", ".nii.gz"))
    for key, name in names.items():
        if "flair" in str(name).lower():
            return int(key), ending
    if len(names) > 1:
        raise InputError(meta_path, f"no channel named FLAIR among {sorted(names.values())}")
    return 0, ending


# ----------------------------------------------------------------------------- BIDS


_BIDS_ENTITY = re.compile(r"(sub|ses)-([A-Za-z0-9]+)")


def _bids(folder: Path) -> Discovery | None:
    subjects = [d for d in _subdirs(folder) if d.name.startswith("sub-")]
    if not subjects:
        return None
    found = Discovery()
    derivative_files = _bids_derivative_files(folder)
    for anat in sorted(list(folder.glob("sub-*/anat")) + list(folder.glob("sub-*/ses-*/anat"))):
        files = _nifti_files(anat)
        for flair in (p for p in files if strip_nifti_suffix(p.name).endswith("_FLAIR")):
            stem = strip_nifti_suffix(flair.name)[: -len("_FLAIR")]
            entities = dict(_BIDS_ENTITY.findall(stem))
            subject = f"sub-{entities['sub']}" if "sub" in entities else anat.parent.name
            session = f"ses-{entities['ses']}" if "ses" in entities else None
            case_id = "_".join(x for x in (subject, session) if x)
            key = (subject, session)
            found.cases.append(
                Case(
                    case_id=case_id,
                    subject=subject,
                    timepoint=session,
                    flair=flair,
                    t1=_first(files, lambda n, s=stem: n.startswith(s) and n.endswith("_T1w")),
                    t2=_first(files, lambda n, s=stem: n.startswith(s) and n.endswith("_T2w")),
                    lesion_mask=_first(derivative_files.get(key, []), _is_bids_lesion),
                    brain_mask=_first(derivative_files.get(key, []), _is_bids_brain),
                    source="bids",
                )
            )
    return found


def _bids_derivative_files(root: Path) -> dict[tuple[str, str | None], list[Path]]:
    out: dict[tuple[str, str | None], list[Path]] = {}
    for path in sorted((root / "derivatives").glob("*/sub-*/**/*.nii*")):
        entities = dict(_BIDS_ENTITY.findall(path.name))
        if "sub" not in entities:
            continue
        key = (f"sub-{entities['sub']}", f"ses-{entities['ses']}" if "ses" in entities else None)
        out.setdefault(key, []).append(path)
    return out


def _is_bids_lesion(name: str) -> bool:
    lower = name.lower()
    return "label-lesion" in lower or (
        "flair" in lower and "mask" in lower and "brain" not in lower
    )


def _is_bids_brain(name: str) -> bool:
    lower = name.lower()
    return "label-brain" in lower or ("brain" in lower and "mask" in lower)


def _first(paths: Iterable[Path], test: Callable[[str], bool]) -> Path | None:
    for path in paths:
        if test(strip_nifti_suffix(path.name)):
            return path
    return None


# ----------------------------------------------------------------------------- open_ms_data


_PATIENT_DIR = re.compile(r"^patient\d+$")
_OMS_FILE = re.compile(
    r"^(?:(?P<study>study\d+)_)?(?P<kind>FLAIR|T1W?|T2W?|GOLD_STANDARD|consensus_gt|brainmask)",
    re.I,
)


def _open_ms_data(folder: Path) -> Discovery | None:
    # The dataset root (patientNN/ inside) or a single patient's folder given directly.
    patients = [d for d in _subdirs(folder) if _PATIENT_DIR.match(d.name)]
    if not patients and _PATIENT_DIR.match(folder.name):
        patients = [folder]
    if not patients or not any(_OMS_FILE.match(p.name) for d in patients for p in _nifti_files(d)):
        return None
    found = Discovery()
    for patient in patients:
        by_study: dict[str | None, dict[str, Path]] = {}
        for path in _nifti_files(patient):
            m = _OMS_FILE.match(path.name)
            if m is None or path.name.upper().startswith("T1POST"):
                continue
            kind = m["kind"].upper().rstrip("W")
            kind = {"GOLD_STANDARD": "mask", "CONSENSUS_GT": "mask", "BRAINMASK": "brain"}.get(
                kind, kind
            )
            by_study.setdefault(m["study"], {}).setdefault(kind, path)
        for study, files in sorted(by_study.items(), key=lambda kv: kv[0] or ""):
            if "FLAIR" not in files:
                found.skipped.append(Skipped(patient, "lesion mask only, no FLAIR image"))
                continue
            found.cases.append(
                Case(
                    case_id=f"{patient.name}_{study}" if study else patient.name,
                    subject=patient.name,
                    timepoint=study,
                    flair=files["FLAIR"],
                    t1=files.get("T1"),
                    t2=files.get("T2"),
                    lesion_mask=files.get("mask"),
                    brain_mask=files.get("brain"),
                    source="open_ms_data",
                )
            )
    return found


# ----------------------------------------------------------------------------- MSLesSeg


_MSL_SUBJECT = re.compile(r"^P\d+$")
_MSL_TIME = re.compile(r"^T\d+$")
_MSL_FILE = re.compile(r"^(?P<subject>P\d+)(?:_(?P<tp>T\d+))?_(?P<kind>FLAIR|T1|T2|MASK)$", re.I)


def _mslesseg(folder: Path) -> Discovery | None:
    subjects = [d for d in _subdirs(folder) if _MSL_SUBJECT.match(d.name)]
    session_dirs = [
        t for s in subjects for t in [s, *_subdirs(s)] if t is s or _MSL_TIME.match(t.name)
    ]
    if not any(
        _MSL_FILE.match(strip_nifti_suffix(p.name)) for d in session_dirs for p in _nifti_files(d)
    ):
        return None
    found = Discovery()
    for session in session_dirs:
        files: dict[str, Path] = {}
        for path in _nifti_files(session):
            m = _MSL_FILE.match(strip_nifti_suffix(path.name))
            if m is not None:
                files[m["kind"].upper()] = path
        if not files:
            continue
        subject = session.name if _MSL_SUBJECT.match(session.name) else session.parent.name
        timepoint = None if session.name == subject else session.name
        if "FLAIR" not in files:
            found.skipped.append(Skipped(session, "no FLAIR image"))
            continue
        found.cases.append(
            Case(
                case_id=f"{subject}_{timepoint}" if timepoint else subject,
                subject=subject,
                timepoint=timepoint,
                flair=files["FLAIR"],
                t1=files.get("T1"),
                t2=files.get("T2"),
                lesion_mask=files.get("MASK"),
                source="mslesseg",
            )
        )
    return found


# ----------------------------------------------------------------------------- flat folder


_FLAT_KINDS: dict[str, str] = {
    "flair": "flair",
    "t1": "t1",
    "t1w": "t1",
    "t2": "t2",
    "t2w": "t2",
    "mask": "lesion_mask",
    "lesion_mask": "lesion_mask",
    "lesionmask": "lesion_mask",
    "lesion": "lesion_mask",
    "seg": "lesion_mask",
    "brainmask": "brain_mask",
    "brain_mask": "brain_mask",
}
# Longest suffixes first so that "_brain_mask" is not read as "<case>_brain" + "_mask".
_FLAT_FILE = re.compile(
    r"^(?P<case>.+?)[_-](?P<kind>" + "|".join(sorted(_FLAT_KINDS, key=len, reverse=True)) + r")$",
    re.I,
)


def _flat(folder: Path) -> Discovery | None:
    files = _nifti_files(folder)
    if not files:
        return None
    groups: dict[str, dict[str, Path]] = {}
    plain: list[Path] = []
    for path in files:
        m = _FLAT_FILE.match(strip_nifti_suffix(path.name))
        if m is None:
            plain.append(path)
        else:
            groups.setdefault(m["case"], {})[_FLAT_KINDS[m["kind"].lower()]] = path
    found = Discovery()
    if not any("flair" in g for g in groups.values()):
        # A folder of plain FLAIR files without masks (what `segment` is pointed at).
        plain += [p for g in groups.values() for p in g.values()]
        found.cases.extend(_plain_case(p) for p in sorted(plain))
        return found
    found.skipped.extend(
        Skipped(p, "name not <case>_FLAIR/_mask/_brainmask/_T1/_T2") for p in plain
    )
    for case_id, group in sorted(groups.items()):
        if "flair" not in group:
            found.skipped.append(
                Skipped(next(iter(group.values())), f"case {case_id!r} has no _FLAIR image")
            )
            continue
        found.cases.append(Case(case_id=case_id, subject=case_id, source="flat", **group))  # type: ignore[arg-type]
    return found


def _plain_case(path: Path) -> Case:
    case_id = strip_nifti_suffix(path.name)
    return Case(case_id=case_id, subject=case_id, flair=path, source="flat")


# Order matters: the structured layouts before the catch-all flat folder.
_DETECTORS: tuple[Callable[[Path], Discovery | None], ...] = (
    _nnunet,
    _bids,
    _open_ms_data,
    _mslesseg,
    _flat,
)
