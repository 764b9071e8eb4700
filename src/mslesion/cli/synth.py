"""``mslesion synth``: semi-synthetic FLAIR with exact lesion masks, or the built-in example."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("synth")
    def synth(
        outdir: Path = typer.Argument(
            ..., help="Folder to write caseNNN_FLAIR/_mask/_brainmask.nii.gz and lesions.csv into."
        ),
        n: int = typer.Option(10, "--n", min=1, help="Number of cases."),
        seed: int = typer.Option(
            0, "--seed", help="Seed of the first case (case i uses seed + i - 1)."
        ),
        lesion_load: str = typer.Option("medium", "--lesion-load", help="low | medium | high."),
        anatomy: str = typer.Option(
            "mni",
            "--anatomy",
            help="mni (built in) | real (lesion-filled real scans, shared data).",
        ),
        lesions: str = typer.Option(
            "procedural",
            "--lesions",
            help="procedural (built in) | library (real lesion shapes, shared data).",
        ),
        voxel_size: float = typer.Option(
            1.0, "--voxel-size", help="Isotropic voxel size in mm (1.0 = 182x218x182 MNI grid)."
        ),
        slice_thickness: float | None = typer.Option(
            None, "--slice-thickness", help="Simulate thick axial slices (FWHM, mm)."
        ),
        snr: float = typer.Option(
            14.0,
            "--snr",
            help="Typical WM signal over Rician noise sigma (each case: 2x either way); 0: none.",
        ),
        brain_mask: str = typer.Option(
            "mixed",
            "--brain-mask",
            help="Where the brain mask is cut: mixed (each case draws) | loose (outer CSF kept)"
            " | tight (at the pial surface).",
        ),
        data_root: Path | None = typer.Option(
            None, "--data-root", help="Shared data folder (for --anatomy real / --lesions library)."
        ),
        example: bool = typer.Option(
            False,
            "--example",
            help="Write only the built-in example case (fixed seed, medium load).",
        ),
        workers: int = typer.Option(
            1, "--workers", min=1, help="Processes generating cases (same bytes for any number)."
        ),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing output files."),
    ) -> None:
        """Semi-synthetic FLAIR with exact lesion masks; same seed, same bytes."""
        from mslesion.cli.common import console, progress
        from mslesion.synth import SynthConfig, write_dataset, write_example

        if example:
            with progress(transient=True) as bar:
                bar.add_task("writing the built-in example", total=None)
                flair, mask = write_example(outdir, overwrite=overwrite)
            console.print(f"wrote {flair} and {mask}")
            return
        config = SynthConfig(
            voxel_size_mm=voxel_size,
            lesion_load=lesion_load,  # type: ignore[arg-type]  (validated by SynthConfig)
            anatomy=anatomy,  # type: ignore[arg-type]
            lesions=lesions,  # type: ignore[arg-type]
            snr=snr or None,
            slice_thickness_mm=slice_thickness,
            brain_mask=brain_mask,  # type: ignore[arg-type]
            data_root=None if data_root is None else str(data_root),
        )
        with progress() as bar:
            task = bar.add_task("synthesising", total=n)
            rows = write_dataset(
                outdir,
                n,
                seed,
                config,
                overwrite=overwrite,
                on_case=lambda _name: bar.advance(task),
                workers=workers,
            )
        total = sum(int(r["lesion_count"]) for r in rows)  # type: ignore[call-overload]
        console.print(f"wrote {n} cases ({total} lesions) and {outdir / 'lesions.csv'}")
