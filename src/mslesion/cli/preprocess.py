"""`mslesion preprocess`: run the invertible preprocessing on one FLAIR (and its mask).

Writes ``<name>_preproc.nii.gz`` (+ ``<mask>_preproc.nii.gz``), the record ``<name>_preproc.json``
and with ``--roundtrip`` the result mapped back to the native grid (``*_roundtrip.nii.gz``) with
a summary of how exactly it came back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from mslesion.errors import InputError


@dataclass(frozen=True)
class _Outputs:
    image: Path
    record: Path
    mask: Path | None
    roundtrip: Path | None

    def all(self) -> list[Path]:
        return [p for p in (self.image, self.record, self.mask, self.roundtrip) if p is not None]


def _outputs(flair: Path, mask: Path | None, outdir: Path, roundtrip: bool) -> _Outputs:
    from mslesion.io.nifti import strip_nifti_suffix

    stem = strip_nifti_suffix(flair.name)
    mask_stem = None if mask is None else strip_nifti_suffix(mask.name)
    if mask_stem == stem:
        mask_stem = f"{stem}_mask"
    back = None
    if roundtrip:
        back = outdir / f"{mask_stem or stem}_roundtrip.nii.gz"
    return _Outputs(
        image=outdir / f"{stem}_preproc.nii.gz",
        record=outdir / f"{stem}_preproc.json",
        mask=None if mask_stem is None else outdir / f"{mask_stem}_preproc.nii.gz",
        roundtrip=back,
    )


def _range(values: Any) -> str:
    """min .. max and robust range of the non-zero (brain) voxels."""
    import numpy as np

    values = values[values != 0] if np.any(values) else values.ravel()
    lo, p_lo, p_hi, hi = np.percentile(values, [0, 0.5, 99.5, 100])
    return f"{_num(lo)} .. {_num(hi)} (p0.5-p99.5 {_num(p_lo)} .. {_num(p_hi)})"


def _num(value: float) -> str:
    # Float rounding leaves values like 2e-07 where 0 is meant: show those as 0.
    return "0" if abs(value) < 1e-4 else f"{value:.3g}"


def _steps_line(native: Any, record: Any) -> str:
    """What was done, in order, e.g. 'reorient LAS->RAS, resample 1x1x3 -> 1x1x1 mm (linear)'."""
    from mslesion.preprocess.spatial import axcodes_of

    steps = [f"reorient {axcodes_of(native.affine)}->RAS"]
    if record.resample is not None:
        steps.append(
            f"resample {_fmt(native.spacing, '.3g')} -> {_fmt(record.spacing, '.3g')} mm "
            f"({record.resample.interpolation})"
        )
    else:
        steps.append("no resampling (already at target spacing)")
    if record.n4:
        steps.append("N4")
    if record.intensity is not None:
        lo, hi = record.config.percentiles
        steps.append(f"{record.intensity.method} after clipping to p{lo:g}-p{hi:g}")
    if record.crop is not None:
        steps.append(f"crop/pad to {_fmt(record.crop.out_shape)} at {_fmt(record.crop.start)}")
    return "steps: " + ", ".join(steps)


def _fmt(values: Any, spec: str = "g") -> str:
    return "x".join(f"{v:{spec}}" for v in values)


def _summary(
    native: Any, arr: Any, record: Any, mask: Any, mask_pre: Any, back: Any, out: _Outputs
) -> Any:
    """A rich table comparing the native grid, the preprocessed grid and the round trip."""
    import numpy as np
    from rich.table import Table

    from mslesion.preprocess.spatial import axcodes_of

    table = Table(title="preprocessing summary")
    table.add_column("")
    table.add_column("native")
    table.add_column("preprocessed")
    if back is not None:
        table.add_column("round trip (native grid)")
    rt = back is not None
    pre_vox = float(np.prod(record.spacing))
    rows = [
        (
            "file",
            native.path.name if native.path else "-",
            out.image.name,
            out.roundtrip.name if rt else None,
        ),
        ("shape", _fmt(native.shape), _fmt(arr.shape), _fmt(back.shape) if rt else None),
        (
            "spacing (mm)",
            _fmt(native.spacing, ".3g"),
            _fmt(record.spacing, ".3g"),
            _fmt(native.spacing, ".3g") if rt else None,
        ),
        (
            "orientation",
            axcodes_of(native.affine),
            axcodes_of(record.affine),
            axcodes_of(native.affine) if rt else None,
        ),
        (
            "intensity (brain)",
            _range(native.data),
            _range(arr),
            None if mask is not None or not rt else _range(back),
        ),
    ]
    if mask is not None:

        def lesion(m: Any, vox_mm3: float) -> str:
            return f"{int(m.sum())} voxels, {m.sum() * vox_mm3 / 1000:.2f} mL"

        rows.append(
            (
                "lesion mask",
                lesion(mask.data, native.voxel_volume_mm3),
                lesion(mask_pre, pre_vox),
                lesion(back, native.voxel_volume_mm3) if rt else None,
            )
        )
    for row in rows:
        table.add_row(*(c or "" for c in row[: 4 if rt else 3]))
    return table


def _roundtrip_line(native: Any, record: Any, mask: Any, back: Any) -> str:
    """One line saying how exactly the round trip reproduced the native data."""
    import numpy as np

    if mask is not None:
        truth = mask.data > 0
        pred = back > 0
        denom = truth.sum() + pred.sum()
        dice = 1.0 if denom == 0 else 2.0 * np.logical_and(truth, pred).sum() / denom
        n_diff = int(np.count_nonzero(truth != pred))
        return f"round trip of the mask: Dice {dice:.4f}, {n_diff} of {truth.size} voxels differ"
    brain = native.data != 0
    reference = native.data
    if record.intensity is not None:
        reference = np.clip(native.data, record.intensity.clip_low, record.intensity.clip_high)
    err = np.abs(back - reference)[brain]
    span = float(reference[brain].max() - reference[brain].min()) or 1.0
    return (
        "round trip of the image (inside the brain, vs the percentile-clipped native): "
        f"mean abs error "
        f"{err.mean():.4g} ({100 * err.mean() / span:.2f}% of range), max {err.max():.4g} "
        f"({100 * err.max() / span:.2f}%)"
    )


def _coverage_line(native: Any, record: Any) -> str | None:
    """A warning when the crop cut away part of the brain (non-zero native voxels)."""
    import numpy as np

    covered = record.to_native(np.ones(record.shape, dtype=np.uint8), is_mask=True) > 0
    brain = native.data != 0
    lost = int(np.count_nonzero(brain & ~covered))
    if lost == 0:
        return None
    share = 100 * lost / brain.sum()
    return f"[yellow]warning:[/] the crop left out {lost} brain voxels ({share:.1f}% of the brain)"


def register(app: typer.Typer) -> None:
    @app.command("preprocess")
    def preprocess_cmd(
        input: Path | None = typer.Argument(
            None, help="FLAIR image (.nii/.nii.gz). Omit with --example."
        ),
        outdir: Path = typer.Option(..., "-o", "--outdir", help="Output folder."),
        spacing: tuple[float, float, float] = typer.Option(
            (1.0, 1.0, 1.0), "--spacing", help="Target voxel size in mm (X Y Z)."
        ),
        keep_spacing: bool = typer.Option(False, "--keep-spacing", help="Do not resample."),
        interpolation: str = typer.Option(
            "linear", "--interpolation", help="Image interpolation: linear or bspline."
        ),
        n4: bool = typer.Option(False, "--n4", help="N4 bias-field correction (SimpleITK)."),
        normalize: str = typer.Option(
            "minmax", "--normalize", help="minmax ([0,1]), zscore (in brain) or none."
        ),
        crop: str = typer.Option(
            "none",
            "--crop",
            help="none, brain (bounding box + margin) or a shape like 128x160x128.",
        ),
        mask: Path | None = typer.Option(
            None, "--mask", help="Lesion mask to take along (nearest neighbour)."
        ),
        brain_mask: Path | None = typer.Option(
            None, "--brain-mask", help="Brain mask (default: non-zero voxels)."
        ),
        roundtrip: bool = typer.Option(
            False, "--roundtrip", help="Map the mask (or image) back to native and report."
        ),
        example: bool = typer.Option(
            False, "--example", help="Use the built-in synthetic example (implies --roundtrip)."
        ),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    ) -> None:
        """Reorient to RAS, resample, (N4), normalise and crop a FLAIR, recording every step so
        results map back onto the original grid."""
        from mslesion.cli.common import console, progress
        from mslesion.errors import ConfigError
        from mslesion.io.atomic import check_writable, write_text_atomic
        from mslesion.io.nifti import load_mask, load_volume, save_mask, save_volume
        from mslesion.preprocess.pipeline import PreprocessConfig, parse_crop, preprocess

        try:
            config = PreprocessConfig(
                spacing=None if keep_spacing else spacing,
                interpolation=interpolation,
                n4=n4,
                normalization=normalize,
                crop=parse_crop(crop),
            )
        except ConfigError as exc:
            raise InputError(None, str(exc)) from exc
        if example:
            if input is not None:
                raise InputError(input, "give either an input image or --example, not both")
            from mslesion.synth import write_example

            input, mask = write_example(outdir / "example", overwrite=overwrite)
            roundtrip = True
            sibling = input.with_name(input.name.replace("_FLAIR", "_brainmask"))
            if brain_mask is None and sibling != input and sibling.is_file():
                brain_mask = sibling  # synth writes the true brain mask beside the FLAIR
        if input is None:
            raise InputError(None, "no input image given (pass a FLAIR file or --example)")
        out = _outputs(input, mask, outdir, roundtrip)
        for path in out.all():
            check_writable(path, overwrite)  # before any work, so a refusal leaves nothing behind

        with progress(transient=True) as bar:
            task = bar.add_task("loading", total=4)
            native = load_volume(input)
            lesion = None if mask is None else load_mask(mask, reference=native)
            brain = None if brain_mask is None else load_mask(brain_mask, reference=native)
            bar.update(task, advance=1, description="preprocessing")
            arr, record = preprocess(native, config, brain_mask=brain)
            mask_pre = None if lesion is None else record.apply(lesion.data, is_mask=True)
            bar.update(task, advance=1, description="round trip")
            back = None
            if roundtrip:
                back = (
                    record.to_native(mask_pre)
                    if mask_pre is not None
                    else record.intensity_to_native(arr)
                )
                if mask_pre is None:
                    # Normalisation zeroed the background, which inverts to the offset: blank it
                    # again so the file looks like the input.
                    back[(native.data == 0) if brain is None else (brain.data == 0)] = 0.0
            bar.update(task, advance=1, description="writing")
            save_volume(out.image, arr, record.affine, reference=native, overwrite=overwrite)
            if mask_pre is not None and out.mask is not None:
                save_mask(out.mask, mask_pre, record.affine, reference=native, overwrite=overwrite)
            if back is not None and out.roundtrip is not None:
                writer = save_mask if lesion is not None else save_volume
                writer(out.roundtrip, back, native.affine, reference=native, overwrite=overwrite)
            write_text_atomic(
                out.record, json.dumps(record.to_dict(), indent=2) + "\n", overwrite=overwrite
            )
            bar.update(task, advance=1)

        console.print(_summary(native, arr, record, lesion, mask_pre, back, out))
        console.print(_steps_line(native, record), highlight=False)
        warning = _coverage_line(native, record)
        if warning:
            console.print(warning, highlight=False)
        if back is not None:
            console.print(_roundtrip_line(native, record, lesion, back), highlight=False)
        console.print(f"wrote {', '.join(p.name for p in out.all())} to {outdir}", highlight=False)
