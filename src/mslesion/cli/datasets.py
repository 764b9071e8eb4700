"""`mslesion datasets PATH`: list the cases found in a dataset folder or manifest."""

from __future__ import annotations

from pathlib import Path

import typer

from mslesion.errors import InputError


def _header_geometry(path: Path) -> tuple[str, str]:
    """(shape, spacing) strings from the NIfTI header only (no voxel data is read)."""
    import nibabel as nib

    try:
        img = nib.load(str(path))
    except Exception as exc:  # noqa: BLE001 - any unreadable header is reported in the table
        return "unreadable", type(exc).__name__
    shape = "x".join(str(s) for s in img.shape)
    zooms = img.header.get_zooms()[:3]
    spacing = "x".join(f"{z:g}" for z in zooms)
    return shape, spacing


def _check_case(case: object) -> str:
    """Load every file of a case fully and check they share the FLAIR's grid; '' when fine."""
    from mslesion.io.nifti import load_mask, load_volume

    try:
        flair = load_volume(case.flair)  # type: ignore[attr-defined]
        for name in ("t1", "t2"):
            path = getattr(case, name)
            if path is not None:
                from mslesion.io.nifti import check_same_grid

                check_same_grid(flair, load_volume(path))
        for name in ("lesion_mask", "brain_mask"):
            path = getattr(case, name)
            if path is not None:
                load_mask(path, reference=flair)
    except InputError as exc:
        return str(exc)
    return ""


def _print_skipped(console: object, skipped: list) -> None:
    """One line per reason, naming the skipped folders/files (27 mask-only patients fit a line)."""
    by_reason: dict[str, list[str]] = {}
    for item in skipped:
        by_reason.setdefault(item.reason, []).append(item.path.name)
    for reason, names in by_reason.items():
        shown = ", ".join(names[:12]) + (f", ... (+{len(names) - 12})" if len(names) > 12 else "")
        console.print(f"[yellow]skipped {len(names)} ({reason}):[/] {shown}", highlight=False)  # type: ignore[attr-defined]


def register(app: typer.Typer) -> None:
    @app.command("datasets")
    def datasets(
        path: Path = typer.Argument(
            ...,
            help="Dataset folder (open_ms_data, MSLesSeg, nnU-Net, BIDS, flat) or a CSV manifest.",
        ),
        write_manifest: Path | None = typer.Option(
            None, "--write-manifest", help="Write the cases found to this CSV."
        ),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing manifest."),
        check: bool = typer.Option(
            False, "--check", help="Load every file and check grids match (slower)."
        ),
    ) -> None:
        """Find the cases (FLAIR, T1, T2, lesion mask, brain mask) in a dataset and list them."""
        from rich.table import Table

        from mslesion.cli.common import console, err_console, progress
        from mslesion.io import datasets as ds
        from mslesion.io import manifest
        from mslesion.io.atomic import check_writable

        if write_manifest is not None:
            check_writable(write_manifest, overwrite)  # fail before the (possibly slow) scan
        found = ds.discover(path)
        table = Table(title=f"{len(found.cases)} case(s) in {path}")
        for column in (
            "case",
            "subject",
            "time point",
            "sequences",
            "masks",
            "shape",
            "spacing (mm)",
            "layout",
        ):
            table.add_column(column, overflow="fold")
        if check:
            table.add_column("check")
        problems: list[str] = []
        with progress(transient=True) as bar:
            task = bar.add_task(
                "reading headers" if not check else "checking files", total=len(found.cases)
            )
            for case in found.cases:
                shape, spacing = _header_geometry(case.flair)
                row = [
                    case.case_id,
                    case.subject,
                    case.timepoint or "-",
                    "+".join(case.sequences),
                    "+".join(
                        n
                        for n, p in (("lesion", case.lesion_mask), ("brain", case.brain_mask))
                        if p
                    )
                    or "-",
                    shape,
                    spacing,
                    case.source,
                ]
                if check:
                    problem = _check_case(case)
                    if problem:
                        problems.append(problem)
                    row.append("[red]failed[/]" if problem else "[green]ok[/]")
                table.add_row(*row)
                bar.advance(task)
        console.print(table)
        n_subjects = len({c.subject for c in found.cases})
        n_masks = sum(c.lesion_mask is not None for c in found.cases)
        console.print(
            f"{len(found.cases)} cases from {n_subjects} subjects, {n_masks} with a lesion mask."
        )
        _print_skipped(console, found.skipped)
        if write_manifest is not None:
            manifest.write_manifest(found.cases, write_manifest, overwrite=overwrite)
            console.print(f"manifest written to {write_manifest}")
        if problems:
            for problem in problems:
                console.print(f"[red]check failed:[/] {problem}", highlight=False, soft_wrap=True)
            err_console.print(f"[bold red]error:[/] {len(problems)} case(s) failed the check")
            raise typer.Exit(2)
