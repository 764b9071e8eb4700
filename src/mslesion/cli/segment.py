"""`mslesion segment`: FLAIR scans (files, folders, CSV manifests) -> lesion masks and reports."""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from mslesion.infer.segment import CaseResult
    from mslesion.io.cases import Case

SUMMARY_COLUMNS = (
    "case",
    "status",
    "error",
    "lesion_count",
    "total_volume_mm3",
    "seconds",
    "flair",
)


@dataclass(frozen=True)
class CaseOutputs:
    """Where one case's files go (BIDS-derivatives names for BIDS input)."""

    mask: Path
    prob: Path
    lesions: Path
    overview: Path
    uncertainty: Path

    def all(self, with_uncertainty: bool) -> list[Path]:
        paths = [self.mask, self.prob, self.lesions, self.overview]
        return paths + ([self.uncertainty] if with_uncertainty else [])


def display_id(case: Case) -> str:
    """Case id without a trailing ``_FLAIR`` (single files keep their full stem otherwise)."""
    cid = case.case_id
    return cid[: -len("_FLAIR")] if cid.upper().endswith("_FLAIR") and len(cid) > 6 else cid


def case_outputs(case: Case, outdir: Path) -> CaseOutputs:
    """``<case>_lesion_mask.nii.gz`` etc.; BIDS: ``derivatives/mslesion/sub-X/[ses-Y/]anat/``."""
    if case.source == "bids" and case.subject.startswith("sub-"):
        folder = outdir / "derivatives" / "mslesion" / case.subject
        if case.timepoint:
            folder = folder / case.timepoint
        stem = "_".join(x for x in (case.subject, case.timepoint) if x) + "_space-orig"
        folder = folder / "anat"
        return CaseOutputs(
            mask=folder / f"{stem}_desc-lesion_mask.nii.gz",
            prob=folder / f"{stem}_desc-lesion_probseg.nii.gz",
            lesions=folder / f"{stem}_desc-lesion_lesions.csv",
            overview=folder / f"{stem}_desc-lesion_overview.png",
            uncertainty=folder / f"{stem}_desc-lesionuncertainty_probseg.nii.gz",
        )
    stem = display_id(case)
    return CaseOutputs(
        mask=outdir / f"{stem}_lesion_mask.nii.gz",
        prob=outdir / f"{stem}_lesion_prob.nii.gz",
        lesions=outdir / f"{stem}_lesions.csv",
        overview=outdir / f"{stem}_overview.png",
        uncertainty=outdir / f"{stem}_lesion_uncertainty.nii.gz",
    )


def collect_cases(inputs: list[Path]) -> tuple[list[Case], list[tuple[str, str]]]:
    """Cases from files, folders and CSV manifests; unusable inputs become (name, error) pairs."""
    from mslesion.errors import MSLesionError
    from mslesion.io.datasets import find_cases

    cases: list[Case] = []
    failures: list[tuple[str, str]] = []
    for path in inputs:
        try:
            cases.extend(find_cases(path))
        except MSLesionError as exc:
            failures.append((path.name or str(path), str(exc)))
    return cases, failures


def write_case(result: CaseResult, volume, outputs: CaseOutputs, overwrite: bool) -> None:  # noqa: ANN001
    """Write all of a case's files (atomically, each); called only once all are computed."""
    from mslesion.io.atomic import atomic_output
    from mslesion.io.nifti import save_mask, save_probability
    from mslesion.report.lesions import write_lesion_csv

    save_mask(outputs.mask, result.mask, volume.affine, reference=volume, overwrite=overwrite)
    save_probability(
        outputs.prob, result.probability, volume.affine, reference=volume, overwrite=overwrite
    )
    if result.uncertainty is not None:
        save_probability(
            outputs.uncertainty,
            result.uncertainty,
            volume.affine,
            reference=volume,
            overwrite=overwrite,
        )
    write_lesion_csv(outputs.lesions, result.lesions, overwrite=overwrite)
    with atomic_output(outputs.overview, overwrite) as tmp:
        tmp.write_bytes(result.overview_png)


def summary_text(rows: list[dict[str, object]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(SUMMARY_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _bids_description(outdir: Path) -> None:
    from mslesion import __version__
    from mslesion.io.atomic import write_text_atomic

    path = outdir / "derivatives" / "mslesion" / "dataset_description.json"
    if not path.exists():
        text = json.dumps(
            {
                "Name": "mslesion lesion segmentation",
                "BIDSVersion": "1.9.0",
                "DatasetType": "derivative",
                "GeneratedBy": [{"Name": "mslesion", "Version": __version__}],
            },
            indent=2,
        )
        write_text_atomic(path, text + "\n")


def register(app: typer.Typer) -> None:
    @app.command("segment")
    def segment(
        inputs: list[Path] = typer.Argument(
            None, help="FLAIR files, dataset folders or CSV manifests.", show_default=False
        ),
        outdir: Path = typer.Option(..., "--output", "-o", help="Output folder."),
        model: str = typer.Option(
            None, "--model", "-m", help="Checkpoint path or shipped model name."
        ),
        brain_mask: Path = typer.Option(
            None, "--brain-mask", help="Brain mask (single input only)."
        ),
        threshold: float = typer.Option(
            None,
            "--threshold",
            help="Probability threshold (default: the model's own, else 0.5).",
        ),
        min_lesion_size: float = typer.Option(
            3.0, "--min-lesion-size", help="Smallest lesion kept, mm³."
        ),
        tta: bool = typer.Option(False, "--tta", help="Average over 3 flips (4 passes)."),
        uncertainty: bool = typer.Option(
            False, "--uncertainty", help="Write a TTA std map + lesion confidence."
        ),
        device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
        example: bool = typer.Option(
            False, "--example", help="Segment the built-in synthetic example."
        ),
    ) -> None:
        """Segment MS lesions: mask, probabilities, lesion table and overview per scan."""
        from mslesion.cli.common import err_console, progress
        from mslesion.errors import InputError, MSLesionError
        from mslesion.infer.postprocess import PostprocessConfig
        from mslesion.infer.predictor import InferenceConfig, Predictor
        from mslesion.infer.segment import segment_volume
        from mslesion.infer.weights import resolve_model
        from mslesion.io.atomic import check_writable, write_text_atomic
        from mslesion.io.nifti import load_mask, load_volume

        inputs = list(inputs or [])
        if device not in ("auto", "cpu", "cuda"):
            raise InputError(None, f"--device must be auto, cpu or cuda, not {device!r}")
        if threshold is not None and not 0 < threshold < 1:
            raise InputError(None, f"--threshold must be between 0 and 1, not {threshold}")
        if example:
            from mslesion.synth import write_example

            flair, _ = write_example(outdir / "example_input", overwrite=overwrite)
            inputs.append(flair.parent)
        if not inputs:
            raise InputError(
                None, "no input given (pass FLAIR files, folders or a CSV manifest, or --example)"
            )
        summary_path = check_writable(outdir / "summary.csv", overwrite)
        predictor = Predictor.from_checkpoint(
            resolve_model(model), InferenceConfig(tta=tta, uncertainty=uncertainty, device=device)
        )
        if threshold is None:
            threshold = predictor.default_threshold
        post = PostprocessConfig(threshold=threshold, min_lesion_size_mm3=min_lesion_size)
        cases, failed_inputs = collect_cases(inputs)
        if brain_mask is not None and len(cases) != 1:
            raise InputError(
                brain_mask, f"--brain-mask needs exactly one input scan, got {len(cases)}"
            )
        rows: list[dict[str, object]] = [
            {"case": name, "status": "failed", "error": err, "seconds": 0.0}
            for name, err in failed_inputs
        ]
        for _, err in failed_inputs:
            err_console.print(f"[bold red]failed:[/] {err}", highlight=False, soft_wrap=True)
        with progress() as bar:
            task = bar.add_task("segmenting", total=len(cases))
            for case in cases:
                name = display_id(case)
                bar.update(task, description=f"segmenting {name}")
                t0 = time.perf_counter()
                outputs = case_outputs(case, outdir)
                try:
                    for path in outputs.all(uncertainty):
                        check_writable(path, overwrite)
                    volume = load_volume(case.flair)
                    mask_path = brain_mask or case.brain_mask
                    mask = load_mask(mask_path, reference=volume) if mask_path else None
                    result = segment_volume(predictor, volume, mask, post, title=name)
                    write_case(result, volume, outputs, overwrite)
                    if case.source == "bids":
                        _bids_description(outdir)
                    rows.append(
                        {
                            "case": name,
                            "status": "ok",
                            "error": "",
                            **result.summary,
                            "seconds": round(time.perf_counter() - t0, 2),
                            "flair": str(case.flair),
                        }
                    )
                except MSLesionError as exc:
                    rows.append(_failed(name, str(exc), t0, case))
                    bar.console.print(
                        f"[bold red]failed:[/] {name}: {exc}", highlight=False, soft_wrap=True
                    )
                except Exception as exc:  # noqa: BLE001 - one bad case must not stop the batch
                    rows.append(_failed(name, f"{type(exc).__name__}: {exc}", t0, case))
                    bar.console.print(
                        f"[bold red]failed:[/] {name}: {type(exc).__name__}: {exc}", highlight=False
                    )
                bar.advance(task)
        write_text_atomic(summary_path, summary_text(rows), overwrite)
        n_failed = sum(r["status"] == "failed" for r in rows)
        n_ok = len(rows) - n_failed
        err_console.print(f"{n_ok} case(s) segmented, {n_failed} failed; summary: {summary_path}")
        if n_failed:
            raise typer.Exit(1)


def _failed(name: str, error: str, t0: float, case: Case) -> dict[str, object]:
    return {
        "case": name,
        "status": "failed",
        "error": error.replace("\n", " "),
        "seconds": round(time.perf_counter() - t0, 2),
        "flair": str(case.flair),
    }
