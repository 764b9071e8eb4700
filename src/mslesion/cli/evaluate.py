"""`mslesion evaluate`: score predicted lesion masks against truth, per case and per dataset.

Cases are paired by a *case key* derived from each file name; the rules live in
:mod:`mslesion.metrics.pairing` (see also ``docs/evaluation.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mslesion.errors import InputError

if TYPE_CHECKING:  # numpy, nibabel and the metrics load inside the command, not at --help
    import numpy as np

    from mslesion.io.nifti import NiftiVolume
    from mslesion.metrics.case import EvalConfig


@dataclass(frozen=True)
class Outputs:
    """Files ``mslesion evaluate`` writes: per-case CSV, per-lesion CSV, summaries, figures."""

    per_case: Path
    lesions: Path
    summary_csv: Path
    summary_md: Path
    figures: Path | None

    @classmethod
    def from_option(cls, output: Path, figures: Path | None) -> Outputs:
        stem = output.name[: -len(".csv")] if output.name.lower().endswith(".csv") else output.name
        parent = output.parent
        return cls(
            output,
            parent / f"{stem}_lesions.csv",
            parent / "summary.csv",
            parent / "summary.md",
            figures,
        )

    def check(self, overwrite: bool) -> None:
        from mslesion.io.atomic import check_writable

        for path in (self.per_case, self.lesions, self.summary_csv, self.summary_md):
            check_writable(path, overwrite)


def _parse_methods(pred: Path, name: str | None, methods: Sequence[str]) -> dict[str, Path]:
    out = {name or (pred.name if pred.is_dir() else "prediction"): pred}
    for item in methods:
        label, sep, folder = item.partition("=")
        if not sep or not label or not folder:
            raise InputError(None, f"--method expects NAME=PRED_DIR, got {item!r}")
        if label in out:
            raise InputError(None, f"--method name {label!r} is used twice")
        out[label] = Path(folder)
    return out


@dataclass(frozen=True)
class RunSpec:
    """Everything one ``mslesion evaluate`` run needs (method name -> prediction file/folder)."""

    methods: dict[str, Path]
    truth: Path
    brain_mask: Path | None
    probabilities: Path | None
    flair: Path | None
    outputs: Outputs
    config: EvalConfig
    overwrite: bool = False


@dataclass(frozen=True)
class CaseFiles:
    """The files of one case: truth, one prediction per method, and optional extras."""

    key: str
    truth: Path
    preds: dict[str, Path]
    brain: Path | None
    prob: Path | None
    flair: Path | None


@dataclass(frozen=True)
class DatasetTruth:
    """The lesion masks of a dataset folder, keyed as ``mslesion segment`` names its outputs."""

    masks: dict[str, Path]
    flairs: dict[str, Path]
    skipped: int  # what discovery left out, e.g. masks without a FLAIR (nothing to segment)


def dataset_truth(path: Path) -> DatasetTruth | None:
    """Truth of a folder in a dataset layout (``mslesion datasets``), or None if it is not one.

    Needed because file names alone cannot pair a dataset with ``segment``'s outputs: in
    ``../shared/data/real`` every open_ms_data mask is ``GOLD_STANDARD_....nii.gz``, so by name
    the masks are keyed by their folder path (``open_ms_data_..._patient19``) while segment
    writes ``patient19_lesion_mask.nii.gz``.
    """
    from mslesion.cli.segment import case_outputs
    from mslesion.io.datasets import discover
    from mslesion.metrics.pairing import case_key

    if not path.is_dir():
        return None
    try:
        found = discover(path)
    except InputError:
        return None
    cases = [c for c in found.cases if c.lesion_mask is not None]
    keys = [case_key(case_outputs(c, path).mask.name) for c in cases]
    if not cases or len(set(keys)) < len(keys):
        return None
    return DatasetTruth(
        {k: c.lesion_mask for k, c in zip(keys, cases, strict=True) if c.lesion_mask},
        {k: c.flair for k, c in zip(keys, cases, strict=True)},
        len(found.skipped),
    )


def _pair_predictions(truth: dict[str, Path], spec: RunSpec) -> dict[str, dict[str, Path]]:
    from mslesion.metrics.pairing import index_cases, pair_cases

    return {
        m: pair_cases(truth, index_cases(p, "pred"), p, f"prediction of {m!r}")
        for m, p in spec.methods.items()
    }


def collect_cases(spec: RunSpec) -> list[CaseFiles]:
    """Pair every truth case with its predictions and optional files, or raise InputError.

    Files are paired by name; where that fails and the truth is a dataset folder, by the case
    names ``mslesion segment`` gives that dataset's scans (masks without a FLAIR left out).
    """
    from mslesion.cli.common import err_console
    from mslesion.metrics.pairing import format_keys, index_cases, one_for_all, pair_cases

    truth = index_cases(spec.truth, "truth")
    dataset_flairs: dict[str, Path] = {}
    try:
        preds = _pair_predictions(truth, spec)
    except InputError:
        dataset = dataset_truth(spec.truth)
        if dataset is None:
            raise
        truth, dataset_flairs = dataset.masks, dataset.flairs
        preds = _pair_predictions(truth, spec)
        if dataset.skipped:
            err_console.print(
                f"note: {spec.truth} read as a dataset: {len(truth)} case(s) scored, "
                f"{dataset.skipped} item(s) left out (`mslesion datasets {spec.truth}` lists them)"
            )
    keys = list(truth)

    def optional(path: Path | None, role: str, what: str, partial: bool = False) -> dict[str, Path]:
        if path is None:
            return {}
        found = one_for_all(index_cases(path, role), keys)
        return pair_cases(truth, found, path, what, partial)

    brain = optional(spec.brain_mask, "brain", "brain mask")
    prob = optional(spec.probabilities, "prob", "probability map")
    # FLAIR only feeds the figures: cases without one just get no triptych. A dataset's own
    # FLAIRs serve when none is given (read only if figures are asked for).
    flair = optional(spec.flair, "flair", "FLAIR", partial=True)
    if spec.flair is None and spec.outputs.figures is not None:
        flair = dataset_flairs
    if spec.flair is not None and len(flair) < len(keys):
        lacking = [k for k in keys if k not in flair]
        err_console.print(
            f"note: no FLAIR (no triptych) for {len(lacking)} case(s): {format_keys(lacking)}"
        )
    return [
        CaseFiles(
            k,
            truth[k],
            {m: f[k] for m, f in preds.items()},
            brain.get(k),
            prob.get(k),
            flair.get(k),
        )
        for k in keys
    ]


def _load_prob(path: Path, reference: NiftiVolume) -> np.ndarray:
    from mslesion.io.nifti import check_same_grid, load_volume

    vol = load_volume(path, allow_all_zero=True)
    check_same_grid(reference, vol)
    lo, hi = float(vol.data.min()), float(vol.data.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise InputError(path, f"probabilities must lie in [0, 1], found [{lo:.3g}, {hi:.3g}]")
    return vol.data


def evaluate_cases(spec: RunSpec, cases: Sequence[CaseFiles]) -> tuple[list[dict], list[dict]]:
    """Per-case rows and per-lesion rows for every (case, method); draws triptychs if asked."""
    from mslesion.cli.common import progress
    from mslesion.io.nifti import check_same_grid, load_mask, load_volume
    from mslesion.metrics.case import evaluate_case

    rows: list[dict] = []
    lesion_rows: list[dict] = []
    first = next(iter(spec.methods))
    with progress() as bar:
        task = bar.add_task("evaluating", total=len(cases) * len(spec.methods))
        for case in cases:
            truth = load_mask(case.truth)
            brain = None if case.brain is None else load_mask(case.brain, reference=truth).data
            flair = None if case.flair is None else load_volume(case.flair)
            if flair is not None:
                check_same_grid(truth, flair)
            for method, pred_path in case.preds.items():
                pred = load_mask(pred_path, reference=truth)
                # Probability maps belong to PRED (the first method) only.
                prob = _load_prob(case.prob, truth) if case.prob and method == first else None
                result = evaluate_case(
                    pred.data, truth.data, truth.spacing, brain, prob, spec.config
                )
                rows.append({"case": case.key, "method": method, **result.row})
                lesion_rows.extend(
                    {"case": case.key, "method": method, **r} for r in result.lesions
                )
                if spec.outputs.figures is not None and flair is not None:
                    from mslesion.report.figures import plot_triptych

                    plot_triptych(
                        flair,
                        truth,
                        pred,
                        spec.outputs.figures / f"{case.key}_{method}_triptych.png",
                        title=f"{case.key} · {method} · Dice {result.row['dice']:.3f}",
                        overwrite=spec.overwrite,
                    )
                bar.advance(task)
    return rows, lesion_rows


def summarize_run(rows: Sequence[dict]) -> list[dict]:
    """Long-format summary records: stratum "all", then by case lesion load class."""
    from mslesion.metrics.aggregate import summary_table

    overall = [{**r, "stratum": "all"} for r in summary_table(rows, by=("method",))]
    by_load = [
        {**{k: v for k, v in r.items() if k != "load_class"}, "stratum": f"load_{r['load_class']}"}
        for r in summary_table(rows, by=("method", "load_class"))
    ]
    ordered = ("method", "stratum", "metric", "n", "mean", "std", "median", "ci_low", "ci_high")
    return [{k: r[k] for k in ordered} for r in overall + by_load]


def summary_markdown(records: Sequence[dict], spec: RunSpec, n_cases: int) -> str:
    """The Markdown report: papers' comparison tables, Dice by load, LTPR by lesion size."""
    from mslesion.metrics.aggregate import LOAD_CUTOFF_VOXELS
    from mslesion.report.tables import (
        FSH_COLUMNS,
        PAPER_COLUMNS,
        comparison_table,
        stratified_table,
    )

    overall = [r for r in records if r["stratum"] == "all"]
    cutoff = LOAD_CUTOFF_VOXELS
    size_cols = (
        ("lesion_tpr_small", "LTPR small"),
        ("lesion_tpr_large", "LTPR large"),
        ("lesion_fpr_small", "LFPR small"),
        ("lesion_fpr_large", "LFPR large"),
    )
    lesion = spec.config.lesion
    return "\n".join(
        [
            "# Evaluation summary\n",
            f"{n_cases} case(s); mean ± std over cases. Lesions: {lesion.connectivity}-connected, "
            f"min size {lesion.min_size_mm3:g} mm³, matching `{lesion.matching}`.\n",
            "## Main metrics\n",
            comparison_table(overall, PAPER_COLUMNS),
            "## Voxel metrics (F.sh layout)\n",
            comparison_table(overall, FSH_COLUMNS),
            "## Dice by case lesion load\n",
            stratified_table(
                records,
                "dice",
                "stratum",
                titles={
                    "all": "DSC (all cases)",
                    "load_low": f"DSC (load < {cutoff} vox)",
                    "load_high": f"DSC (load ≥ {cutoff} vox)",
                },
            ),
            "## Lesion detection by lesion size (small: box < 1500 voxels)\n",
            comparison_table(overall, size_cols),
        ]
    )


def write_outputs(spec: RunSpec, rows: list[dict], lesion_rows: list[dict]) -> list[dict]:
    """Write per-case, per-lesion and summary files and the Dice-vs-load plot.

    Returns the summary records (see :func:`summarize_run`).
    """
    from mslesion.io.atomic import write_text_atomic
    from mslesion.report.tables import write_csv

    out = spec.outputs
    records = summarize_run(rows)
    markdown = summary_markdown(records, spec, len({r["case"] for r in rows}))
    write_csv(rows, out.per_case, spec.overwrite)
    write_csv(lesion_rows or [{"case": "", "method": ""}], out.lesions, spec.overwrite)
    write_csv(records, out.summary_csv, spec.overwrite)
    write_text_atomic(out.summary_md, markdown, spec.overwrite)
    if out.figures is not None:
        from mslesion.report.figures import plot_dice_vs_load

        points: dict[str, list[tuple[float, float]]] = {}
        for r in rows:
            points.setdefault(r["method"], []).append((r["lesion_load_mm3"], r["dice"]))
        plot_dice_vs_load(points, out.figures / "dice_vs_load.png", spec.overwrite)
    return records


def console_table(records: Sequence[dict]) -> object:
    """A rich table of the main metrics: one row per metric, one column per method."""
    from rich.table import Table

    from mslesion.report.tables import PAPER_COLUMNS, format_cell

    overall = [r for r in records if r["stratum"] == "all"]
    methods = list(dict.fromkeys(r["method"] for r in overall))
    cells = {(r["method"], r["metric"]): r for r in overall}
    table = Table(title="mean ± std over cases (95% CI in summary.csv)", title_style="")
    table.add_column("metric")
    for m in methods:
        table.add_column(m, justify="right")
    for key, title in PAPER_COLUMNS:
        if any((m, key) in cells for m in methods):
            recs = [cells.get((m, key)) for m in methods]
            table.add_row(
                title,
                *["–" if r is None else format_cell(r["mean"], r["std"], r["n"]) for r in recs],
            )
    return table


def run_evaluation(spec: RunSpec) -> list[dict]:
    """Pair, evaluate, write; print the summary. Returns the per-case rows."""
    from mslesion.cli.common import console

    spec.outputs.check(spec.overwrite)
    cases = collect_cases(spec)
    rows, lesion_rows = evaluate_cases(spec, cases)
    records = write_outputs(spec, rows, lesion_rows)
    console.print(console_table(records))
    console.print(
        f"wrote {spec.outputs.per_case}, {spec.outputs.summary_csv}, {spec.outputs.summary_md}"
    )
    return rows


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate(
        pred: Path = typer.Argument(..., help="Predicted mask file, or folder of them."),
        truth: Path = typer.Argument(
            ..., help="Truth mask file, or folder (dataset layouts work)."
        ),
        brain_mask: Path | None = typer.Option(
            None, "--brain-mask", help="Brain mask FILE|DIR: metrics inside it."
        ),
        probabilities: Path | None = typer.Option(
            None, "--probabilities", help="Probability map FILE|DIR (AP)."
        ),
        flair: Path | None = typer.Option(
            None, "--flair", help="FLAIR FILE|DIR, for triptych figures."
        ),
        output: Path = typer.Option(
            Path("metrics.csv"), "-o", "--output", help="Per-case CSV; summaries go beside it."
        ),
        name: str | None = typer.Option(
            None, "--name", help="Method name of PRED (default: its folder name)."
        ),
        method: list[str] = typer.Option(
            [], "--method", help="Another method to compare: NAME=PRED_DIR (repeatable)."
        ),
        figures: Path | None = typer.Option(
            None, "--figures", help="Folder for figures (Dice vs load, triptychs)."
        ),
        connectivity: int = typer.Option(
            26, "--connectivity", help="Lesion connectivity: 6, 18 or 26."
        ),
        min_lesion_size: float = typer.Option(
            0.0, "--min-lesion-size", help="Ignore lesions below this (mm^3)."
        ),
        matching: str = typer.Option(
            "any", "--matching", help="Lesion matching: any | fraction:T | iou:T."
        ),
        no_surface: bool = typer.Option(False, "--no-surface", help="Skip HD95/ASSD (faster)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    ) -> None:
        """Score predicted lesion masks against truth: per-case CSV, summary, tables, figures."""
        from mslesion.metrics.case import EvalConfig
        from mslesion.metrics.lesion import LesionConfig

        config = EvalConfig(
            lesion=LesionConfig(
                connectivity=connectivity, min_size_mm3=min_lesion_size, matching=matching
            ),
            surface=not no_surface,
        )
        spec = RunSpec(
            methods=_parse_methods(pred, name, method),
            truth=truth,
            brain_mask=brain_mask,
            probabilities=probabilities,
            flair=flair,
            outputs=Outputs.from_option(output, figures),
            config=config,
            overwrite=overwrite,
        )
        run_evaluation(spec)
