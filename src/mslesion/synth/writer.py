"""Write synthetic cases as a flat folder, byte-for-byte reproducible.

Layout (what ``mslesion.io.datasets.find_cases`` reads as a flat folder)::

    case001_FLAIR.nii.gz  case001_mask.nii.gz  case001_brainmask.nii.gz  ...  lesions.csv

nibabel's gzip writer stamps the current time into the gzip header, so the same seed would give
different bytes; we serialise the NIfTI to memory and gzip it with ``mtime=0`` instead.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np

from mslesion.io.atomic import atomic_output, check_writable
from mslesion.synth.anatomy import ZONES
from mslesion.synth.config import SynthCase, SynthConfig
from mslesion.synth.fields import limit_blas_threads
from mslesion.synth.generate import generate_case

EXAMPLE_SEED = 20240611  # the built-in example: fixed seed, medium lesion load, 1 mm
CSV_COLUMNS = [
    "case",
    "seed",
    "acquisition",
    "brain_mask",
    "lesion_count",
    "total_volume_mm3",
    *ZONES.values(),
]


def nifti_gz_bytes(data: np.ndarray, affine: np.ndarray) -> bytes:
    """A .nii.gz file's bytes with a fixed gzip header (no timestamp, no file name)."""
    img = nib.Nifti1Image(data, affine)
    img.header.set_xyzt_units("mm", "sec")
    img.set_qform(affine, code=4)  # 4 = MNI152 space
    img.set_sform(affine, code=4)
    return gzip.compress(img.to_bytes(), compresslevel=4, mtime=0)


def write_nifti_gz(path: Path, data: np.ndarray, affine: np.ndarray, overwrite: bool) -> Path:
    """Atomically write ``data`` (X, Y, Z) as a deterministic ``.nii.gz``."""
    payload = nifti_gz_bytes(data, affine)
    with atomic_output(path, overwrite) as tmp:
        tmp.write_bytes(payload)
    return path


def case_paths(outdir: Path, name: str) -> tuple[Path, Path, Path]:
    """(FLAIR, mask, brain mask) paths of case ``name`` in ``outdir``."""
    return tuple(outdir / f"{name}_{kind}.nii.gz" for kind in ("FLAIR", "mask", "brainmask"))  # type: ignore[return-value]


def write_case(
    case: SynthCase, outdir: str | Path, name: str, overwrite: bool = False
) -> tuple[Path, Path, Path]:
    """Write one case's FLAIR (float32), lesion mask and brain mask (uint8); returns the paths."""
    outdir = Path(outdir)
    paths = case_paths(outdir, name)
    for p in paths:
        check_writable(p, overwrite)
    write_nifti_gz(paths[0], case.flair.astype(np.float32), case.affine, overwrite)
    write_nifti_gz(paths[1], case.lesion_mask.astype(np.uint8), case.affine, overwrite)
    write_nifti_gz(paths[2], case.brain_mask.astype(np.uint8), case.affine, overwrite)
    return paths


def csv_row(name: str, case: SynthCase) -> dict[str, object]:
    """A ``lesions.csv`` row: how the case was drawn (2D / 3D acquisition, loose / tight brain
    mask), lesion count (26-connected), volume in mm^3, per-zone counts."""
    row: dict[str, object] = {
        "case": name,
        "seed": case.seed,
        "acquisition": case.acquisition,
        "brain_mask": case.brain_mask_style,
        "lesion_count": len(case.lesions),
        "total_volume_mm3": round(float(case.lesion_mask.sum()) * case.voxel_volume_mm3, 3),
    }
    for zone in ZONES.values():
        row[zone] = sum(1 for lesion in case.lesions if lesion["zone"] == zone)
    return row


def write_csv(path: Path, rows: list[dict[str, object]], overwrite: bool) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with atomic_output(path, overwrite) as tmp:
        tmp.write_text(buf.getvalue())
    return path


def _write_one(job: tuple[Path, str, int, SynthConfig, bool]) -> dict[str, object]:
    """Generate and write one case; its CSV row. Top level so that worker processes run it."""
    outdir, name, seed, config, overwrite = job
    case = generate_case(seed, config)
    write_case(case, outdir, name, overwrite)
    return csv_row(name, case)


def write_dataset(
    outdir: str | Path,
    n: int,
    seed: int = 0,
    config: SynthConfig = SynthConfig(),  # noqa: B008 (frozen dataclass)
    overwrite: bool = False,
    on_case: Callable[[str], None] | None = None,
    workers: int = 1,
) -> list[dict[str, object]]:
    """Write ``n`` cases ``case001..`` (case ``i`` uses seed ``seed + i - 1``) and ``lesions.csv``.

    All output names are checked before anything is generated, so a refused overwrite costs
    nothing. ``workers`` > 1 generates cases in that many processes; each case depends on its
    seed alone, so the bytes are the same. Returns the CSV rows.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    outdir = Path(outdir)
    names = [f"case{i:03d}" for i in range(1, n + 1)]
    for name in names:
        for p in case_paths(outdir, name):
            check_writable(p, overwrite)
    check_writable(outdir / "lesions.csv", overwrite)
    jobs = [(outdir, name, seed + i, config, overwrite) for i, name in enumerate(names)]
    done = on_case or (lambda _name: None)
    # The first case runs here: it loads (or builds) the anatomy template once, and forked
    # workers inherit it instead of each building it at the same time.
    rows = [_write_one(jobs[0])]
    done(names[0])
    if workers > 1 and n > 1:
        fork = "fork" in multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if fork else None)
        with ProcessPoolExecutor(
            min(workers, n - 1), mp_context=context, initializer=_one_torch_thread
        ) as pool:
            for name, row in zip(names[1:], pool.map(_write_one, jobs[1:]), strict=True):
                rows.append(row)
                done(name)
    else:
        for name, job in zip(names[1:], jobs[1:], strict=True):
            rows.append(_write_one(job))
            done(name)
    write_csv(outdir / "lesions.csv", rows, overwrite)
    return rows


def _one_torch_thread() -> None:
    # The first case ran torch's OpenMP pool in the parent; a forked child that enters an
    # OpenMP region of its own then hangs for ever. One thread per worker never enters one
    # (and is what a pool of single-case processes wants anyway), as in DataLoader workers;
    # the same for the BLAS library's pool.
    import torch

    torch.set_num_threads(1)
    limit_blas_threads()


def write_example(outdir: str | Path, overwrite: bool = False) -> tuple[Path, Path]:
    """Write the built-in example (``example_FLAIR/_mask/_brainmask.nii.gz``): (FLAIR, mask)."""
    case = generate_case(EXAMPLE_SEED, SynthConfig(lesion_load="medium"))
    flair, mask, _ = write_case(case, outdir, "example", overwrite)
    return flair, mask
