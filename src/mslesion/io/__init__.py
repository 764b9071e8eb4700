"""File input/output: NIfTI volumes, dataset discovery, atomic writes."""

from mslesion.io.atomic import atomic_output, check_writable
from mslesion.io.nifti import (
    NiftiVolume,
    check_same_grid,
    load_mask,
    load_volume,
    save_mask,
    save_probability,
    save_volume,
)

__all__ = [
    "NiftiVolume",
    "atomic_output",
    "check_same_grid",
    "check_writable",
    "load_mask",
    "load_volume",
    "save_mask",
    "save_probability",
    "save_volume",
]
