"""Cross-validation report: score each fold's model on the cases it never saw.

A cross-validation is a set of run folders written by ``mslesion train --fold K/N`` (or
``--val-subject``): each holds ``config.yaml`` (which says which subjects it held out) and its
checkpoints. :func:`crossval_rows` re-discovers the cases, finds each run's held-out cases
from its own config, runs the checkpoint on them (optionally after a scanner-like
:mod:`degradation <mslesion.data.degrade>`) and scores the thresholded mask with the
evaluation tool's metrics. Tables average the scans of one patient first, then the
patients, so a patient with three time points weighs as much as one with a single scan.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mslesion.data.degrade import Degradation, degrade, parse_degradation
from mslesion.errors import InputError
from mslesion.io.cases import Case
from mslesion.io.nifti import NiftiVolume
from mslesion.report.tables import markdown_table

#: Metrics of the per-patient and robustness tables, in print order.
TABLE_METRICS = (
    "dice",
    "sensitivity",
    "precision",
    "lesion_tpr",
    "lesion_fpr",
    "lesion_f1",
    "lesion_tpr_small",
    "voxel_ap",
)


@dataclass(frozen=True)
class FoldRun:
    """One trained fold: its run folder and the cases it held out."""

    method: str
    run_dir: Path
    checkpoint: Path
    heldout: tuple[Case, ...]


def find_fold_runs(
    method: str, root: Path, cases: Sequence[Case], checkpoint: str = "last.pt"
) -> list[FoldRun]:
    """Every run folder at or directly under ``root`` with ``config.yaml`` and ``checkpoint``;
    its held-out cases are those its own config's split puts on the validation side."""
    from mslesion.train.config import load_config
    from mslesion.train.loop import split_cases

    root = Path(root)
    candidates = [root] if (root / "config.yaml").exists() else sorted(root.iterdir())
    runs = []
    for run_dir in candidates:
        if not (run_dir / "config.yaml").exists():
            continue
        ckpt = run_dir / checkpoint
        if not ckpt.exists():
            raise InputError(ckpt, "missing: the fold has not finished (or pick --checkpoint)")
        cfg = load_config(run_dir / "config.yaml")
        _, heldout = split_cases(cases, cfg)
        if not heldout:
            raise InputError(run_dir / "config.yaml", "holds out no case of these data")
        runs.append(FoldRun(method, run_dir, ckpt, tuple(heldout)))
    if not runs:
        raise InputError(root, "no run folder (config.yaml) found at or under it")
    return runs


def load_scored_case(case: Case) -> tuple[NiftiVolume, NiftiVolume]:
    """The FLAIR and its truth mask (on the same grid) of a held-out case."""
    from mslesion.io.nifti import load_mask, load_volume

    if case.lesion_mask is None:
        raise InputError(case.flair, "has no lesion mask to score against")
    volume = load_volume(case.flair)
    return volume, load_mask(case.lesion_mask, reference=volume)


def score_case(
    predictor,  # mslesion.infer.predictor.Predictor
    volume: NiftiVolume,
    truth: NiftiVolume,
    degradation: Degradation,
    thresholds: Sequence[float] = (0.5,),
    min_lesion_size_mm3: float = 3.0,
    seed: int = 0,
) -> list[dict[str, object]]:
    """Metric rows (one per threshold) of ``volume`` scored against ``truth`` after
    ``degradation``.

    The prediction is made once; each threshold re-binarises the same probability map with
    the ``mslesion segment`` post-processing (hole filling, lesions >= ``min_lesion_size_mm3``).
    """
    from mslesion.infer.postprocess import PostprocessConfig, binarize
    from mslesion.metrics.case import EvalConfig, evaluate_case

    image = degrade(volume.data, volume.data > 0, degradation, volume.spacing, seed)
    pred = predictor.predict(volume.with_data(image))
    rows = []
    for threshold in thresholds:
        post = PostprocessConfig(threshold=threshold, min_lesion_size_mm3=min_lesion_size_mm3)
        mask = binarize(pred.probability, volume.voxel_volume_mm3, post)
        result = evaluate_case(
            mask,
            truth.data,
            volume.spacing,
            prob=pred.probability,
            config=EvalConfig(surface=False, prob_threshold=threshold),
        )
        rows.append({"degradation": degradation.label, "threshold": threshold, **result.row})
    return rows


def crossval_rows(
    runs: Iterable[FoldRun],
    degradations: Sequence[str] = ("clean",),
    thresholds: Sequence[float] = (0.5,),
    min_lesion_size_mm3: float = 3.0,
    on_case: Callable[[str], None] | None = None,
) -> list[dict[str, object]]:
    """Rows of every held-out case of every run, under every degradation and threshold."""
    from mslesion.infer.predictor import InferenceConfig, Predictor

    parsed = [parse_degradation(d) for d in degradations]
    rows: list[dict[str, object]] = []
    for run in runs:
        predictor = Predictor.from_checkpoint(run.checkpoint, InferenceConfig())
        for case in run.heldout:
            volume, truth = load_scored_case(case)
            where = {
                "method": run.method,
                "fold": run.run_dir.name,
                "case": case.case_id,
                "subject": case.subject,
            }
            for deg in parsed:
                if on_case:
                    on_case(f"{run.method} {run.run_dir.name} {case.case_id} {deg.label}")
                for row in score_case(
                    predictor, volume, truth, deg, thresholds, min_lesion_size_mm3
                ):
                    rows.append({**where, **row})
    return rows


def _mean(values: Iterable[object]) -> float:
    finite = [float(v) for v in values if isinstance(v, (int, float)) and not math.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def patient_means(
    rows: Sequence[dict[str, object]], metrics: Sequence[str] = TABLE_METRICS
) -> list[dict[str, object]]:
    """One row per (method, degradation, threshold, subject): each metric averaged over that
    subject's scans (NaN where undefined, e.g. TPR of small lesions on a scan without any)."""
    groups: dict[tuple[object, ...], list[dict[str, object]]] = {}
    for row in rows:
        key = (row["method"], row["degradation"], row["threshold"], row["subject"])
        groups.setdefault(key, []).append(row)
    out = []
    for (method, deg, thr, subject), group in groups.items():
        out.append(
            {
                "method": method,
                "degradation": deg,
                "threshold": thr,
                "subject": subject,
                "scans": len(group),
                **{m: _mean(r.get(m) for r in group) for m in metrics},
            }
        )
    return out


def overall_means(
    per_patient: Sequence[dict[str, object]], metrics: Sequence[str] = TABLE_METRICS
) -> list[dict[str, object]]:
    """Mean over patients per (method, degradation, threshold)."""
    groups: dict[tuple[object, ...], list[dict[str, object]]] = {}
    for row in per_patient:
        groups.setdefault((row["method"], row["degradation"], row["threshold"]), []).append(row)
    return [
        {
            "method": m,
            "degradation": d,
            "threshold": t,
            "patients": len(g),
            **{k: _mean(r.get(k) for r in g) for k in metrics},
        }
        for (m, d, t), g in groups.items()
    ]


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def records_table(rows: Sequence[dict[str, object]], columns: Sequence[str]) -> str:
    """:func:`mslesion.report.tables.markdown_table` of ``columns`` of dict rows (NaN empty)."""
    return markdown_table(columns, [[_fmt(r.get(c, "")) for c in columns] for r in rows])


def robustness_rows(overall: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    """Per method and degradation: mean Dice, lesion F1 and their change vs ``clean``."""
    clean = {(r["method"], r["threshold"]): r for r in overall if r["degradation"] == "clean"}
    out = []
    for r in overall:
        ref = clean.get((r["method"], r["threshold"]))
        out.append(
            {
                "method": r["method"],
                "degradation": r["degradation"],
                "threshold": r["threshold"],
                "dice": r["dice"],
                "dice_change": float(r["dice"]) - float(ref["dice"]) if ref else float("nan"),
                "lesion_f1": r["lesion_f1"],
                "lesion_tpr": r["lesion_tpr"],
                "lesion_f1_change": (
                    float(r["lesion_f1"]) - float(ref["lesion_f1"]) if ref else float("nan")
                ),
            }
        )
    return out


def summary_markdown(
    rows: Sequence[dict[str, object]], checkpoint: str, min_lesion_size_mm3: float
) -> str:
    """``summary.md`` of :func:`crossval_rows` output: mean over patients, per patient and,
    when more than one degradation was scored, the robustness table."""
    patients = patient_means(rows)
    overall = overall_means(patients)
    methods = sorted({str(r["method"]) for r in rows})
    text = [
        "# Cross-validation on held-out patients\n",
        f"Runs: {', '.join(methods)}; checkpoint `{checkpoint}`; lesions >= "
        f"{min_lesion_size_mm3:g} mm³; scans of one patient averaged, then patients.\n",
        "## Mean over patients\n",
        records_table(overall, ("method", "degradation", "threshold", "patients", *TABLE_METRICS)),
        "\n## Per patient\n",
        records_table(
            patients, ("method", "degradation", "threshold", "subject", "scans", *TABLE_METRICS)
        ),
    ]
    if len({r["degradation"] for r in rows}) > 1:
        text += [
            "\n## Robustness: change against the clean scans\n",
            records_table(
                robustness_rows(overall),
                (
                    "method",
                    "degradation",
                    "threshold",
                    "dice",
                    "dice_change",
                    "lesion_tpr",
                    "lesion_f1",
                    "lesion_f1_change",
                ),
            ),
        ]
    return "\n".join(text) + "\n"
