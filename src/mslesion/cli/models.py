"""``mslesion models``: the registered networks and the shipped pretrained weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer


def model_rows() -> list[dict[str, Any]]:
    """One row per registered model: name, parameter count (default widths), description."""
    import torch

    from mslesion.models import build_model, count_parameters, list_models

    rows = []
    for spec in list_models():
        # The meta device allocates no weights: counting 30 M parameters costs nothing.
        with torch.device("meta"):
            model = build_model(spec.name)
        rows.append(
            {
                "name": spec.name,
                "parameters": count_parameters(model),
                "description": spec.description,
            }
        )
    return rows


def weight_rows(folder: Path | None = None) -> list[dict[str, Any]]:
    """One row per ``*.pt`` in ``folder`` (default: the shipped weights); unreadable files are
    listed with their error."""
    from mslesion.errors import InputError
    from mslesion.infer.weights import DEFAULT_MODEL, weights_dir
    from mslesion.models.checkpoint import load_checkpoint

    rows = []
    for path in sorted((folder or weights_dir()).glob("*.pt")):
        row: dict[str, Any] = {
            "file": path.name,
            "size_mb": round(path.stat().st_size / 1e6, 2),
            "default": path.stem == DEFAULT_MODEL,
        }
        try:
            ckpt = load_checkpoint(path)
        except InputError as exc:
            row["error"] = exc.problem
        else:
            row["model"] = ckpt["model"]["name"]
            metrics = ckpt.get("metrics", {})
            # A cross-validated Dice (mean over held-out patients) outranks one run's own
            # validation Dice when the exported weights carry both.
            row["val_dice"] = metrics.get("lopo_dice", metrics.get("val_dice"))
            row["validation"] = "lopo" if "lopo_dice" in metrics else "run"
            row["lesion_f1"] = metrics.get("lopo_lesion_f1")
            row["threshold"] = (ckpt.get("postprocessing") or {}).get("threshold", 0.5)
            row["preprocessing"] = ckpt.get("preprocessing", {})
        rows.append(row)
    return rows


def _print_tables(models: list[dict[str, Any]], weights: list[dict[str, Any]]) -> None:
    from rich.table import Table

    from mslesion.cli.common import console

    table = Table(title="Registered models")
    table.add_column("name", style="bold")
    table.add_column("parameters", justify="right")
    table.add_column("description")
    for row in models:
        table.add_row(row["name"], f"{row['parameters'] / 1e6:.2f} M", row["description"])
    console.print(table)

    from mslesion.infer.weights import weights_dir

    if not weights:
        console.print(f"No pretrained weights shipped in {weights_dir()}.")
        return
    shipped = Table(title=f"Pretrained weights ({weights_dir()})")
    for column in ("file", "model", "val Dice", "lesion F1", "threshold", "size"):
        shipped.add_column(column, justify="left" if column in ("file", "model") else "right")
    for row in weights:
        name = row["file"] + (" (default)" if row["default"] else "")
        if "error" in row:
            shipped.add_row(name, f"[red]{row['error']}[/]", "", "", "", f"{row['size_mb']} MB")
            continue
        dice = row["val_dice"]
        dice_text = "n/a" if dice is None else f"{float(dice):.3f}"
        if dice is not None and row["validation"] == "lopo":
            dice_text += " (LOPO)"
        f1 = row["lesion_f1"]
        shipped.add_row(
            name,
            row["model"],
            dice_text,
            "" if f1 is None else f"{float(f1):.3f}",
            f"{row['threshold']:g}",
            f"{row['size_mb']} MB",
        )
    console.print(shipped)
    console.print(
        "segment uses the (default) model unless --model names another; "
        "model cards: docs/models/<name>.md"
    )


def _parse_metrics(items: list[str]) -> dict[str, Any]:
    from mslesion.errors import InputError

    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise InputError(None, f"--metric expects KEY=VALUE, got {item!r}")
        try:
            out[key] = float(raw)
        except ValueError:
            out[key] = raw
    return out


def register(app: typer.Typer) -> None:
    @app.command("models")
    def models_command(
        as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
        export: Path | None = typer.Option(
            None,
            "--export",
            help="A training checkpoint (e.g. runs/NAME/best.pt) to export for shipping.",
        ),
        output: Path | None = typer.Option(
            None, "--output", help="Where --export writes the fp16 inference-only weights."
        ),
        threshold: float = typer.Option(
            None,
            "--threshold",
            help="With --export: the probability threshold segment uses for this model.",
        ),
        metric: list[str] = typer.Option(
            [],
            "--metric",
            help="With --export: KEY=VALUE stored in the weights' metrics, e.g. "
            "lopo_dice=0.61 (repeatable).",
        ),
        ensemble: tuple[Path, Path] | None = typer.Option(
            None,
            "--ensemble",
            help="UNET_RUN MASKRCNN_RUN: combine two runs trained apart into the Ensemble "
            "baseline, written as a run folder to --output (for crossval/segment).",
        ),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace --output."),
    ) -> None:
        """List the registered networks (parameter count, description) and shipped weights.

        With --export CKPT --output PATH: write a small fp16 inference-only copy of a
        training checkpoint (how the shipped weights are made).
        """
        if ensemble is not None:
            from mslesion.errors import InputError
            from mslesion.train.synergy import combine_ensemble_runs

            if output is None:
                raise InputError(ensemble[0], "--ensemble needs --output RUN_FOLDER")
            path = combine_ensemble_runs(*ensemble, output, overwrite=overwrite)
            typer.echo(f"wrote {path}")
            return
        if export is not None:
            from mslesion.errors import InputError
            from mslesion.models.checkpoint import export_weights

            if output is None:
                raise InputError(export, "--export needs --output PATH.pt")
            if threshold is not None and not 0 < threshold < 1:
                raise InputError(None, f"--threshold must lie in (0, 1), got {threshold}")
            path = export_weights(
                export,
                output,
                extra_metrics=_parse_metrics(metric),
                threshold=threshold,
                overwrite=overwrite,
            )
            typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
            return
        models = model_rows()
        weights = weight_rows()
        if as_json:
            typer.echo(json.dumps({"models": models, "weights": weights}, indent=2))
        else:
            _print_tables(models, weights)
