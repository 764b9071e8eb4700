"""``mslesion crossval``: score cross-validation folds on their held-out cases, optionally
under scanner-like degradations (robustness), and compare methods."""

from __future__ import annotations

from pathlib import Path

import typer

from mslesion.errors import InputError


def _parse_runs(items: list[str]) -> dict[str, Path]:
    runs: dict[str, Path] = {}
    for item in items:
        name, sep, folder = item.partition("=")
        if not sep:
            name, folder = Path(item).name, item
        if not name or not folder:
            raise InputError(None, f"runs must be FOLDER or NAME=FOLDER, got {item!r}")
        if name in runs:
            raise InputError(None, f"method name {name!r} given twice")
        runs[name] = Path(folder)
    return runs


def register(app: typer.Typer) -> None:
    @app.command("crossval")
    def crossval(
        runs: list[str] = typer.Argument(
            ...,
            help="Fold run folders' parent (or one run folder), as FOLDER or NAME=FOLDER; "
            "repeat to compare methods.",
        ),
        data: list[Path] = typer.Option(
            ..., "--data", help="The dataset the folds were trained on (repeatable)."
        ),
        output: Path = typer.Option(
            ..., "--output", "-o", help="Folder for cases.csv, patients.csv, summary.md."
        ),
        degrade: list[str] = typer.Option(
            ["clean"],
            "--degrade",
            help="clean | thick[:mm] | bias[:logstd] | noise[:snr] | scale[:f] | gamma[:g] "
            "(repeatable); 'robust' = the standard set.",
        ),
        threshold: list[float] = typer.Option(
            [0.5], "--threshold", help="Probability threshold(s) to score (repeatable)."
        ),
        checkpoint: str = typer.Option(
            "last.pt", "--checkpoint", help="Checkpoint file name in each run folder."
        ),
        min_lesion_size: float = typer.Option(
            3.0, "--min-lesion-size", help="Smallest predicted lesion kept, mm³."
        ),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    ) -> None:
        """Per-patient metrics of every fold's model on the patients it held out.

        Scans of one patient are averaged first, then patients (mean over patients).
        """
        from mslesion.cli.common import err_console, progress
        from mslesion.data.degrade import DEFAULT_SET, parse_degradation
        from mslesion.io.atomic import check_writable, write_text_atomic
        from mslesion.report import crossval as cv
        from mslesion.report.tables import write_csv
        from mslesion.train.loop import gather_cases

        degradations = list(DEFAULT_SET) if degrade == ["robust"] else degrade
        for item in degradations:
            try:
                parse_degradation(item)
            except ValueError as exc:
                raise InputError(None, f"--degrade: {exc}") from None
        for t in threshold:
            if not 0.0 < t < 1.0:
                raise InputError(None, f"--threshold must lie in (0, 1), got {t}")
        files = [output / n for n in ("cases.csv", "patients.csv", "summary.md")]
        for path in files:
            check_writable(path, overwrite)
        cases = gather_cases([str(p) for p in data])
        folds = [
            run
            for name, folder in _parse_runs(runs).items()
            for run in cv.find_fold_runs(name, folder, cases, checkpoint)
        ]
        n_jobs = sum(len(f.heldout) for f in folds) * len(degradations)
        with progress() as bar:
            task = bar.add_task("scoring", total=n_jobs)

            def step(label: str) -> None:
                bar.update(task, description=label)
                bar.advance(task)

            rows = cv.crossval_rows(folds, degradations, threshold, min_lesion_size, step)
        text = cv.summary_markdown(rows, checkpoint, min_lesion_size)
        output.mkdir(parents=True, exist_ok=True)
        write_csv(rows, files[0], overwrite)
        write_csv(cv.patient_means(rows), files[1], overwrite)
        write_text_atomic(files[2], text, overwrite)
        typer.echo(text)  # plain: markdown must not be re-wrapped
        err_console.print(f"wrote {', '.join(str(p) for p in files)}")
