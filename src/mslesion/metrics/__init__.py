"""Segmentation metrics: voxel overlap and surface distance, lesion-wise detection, AP.

- :mod:`mslesion.metrics.voxel`: confusion counts, Dice, IoU, volumes, HD95, ASSD, nDSC.
- :mod:`mslesion.metrics.lesion`: connected components and lesion matching (LTPR, LFPR, F1).
- :mod:`mslesion.metrics.detection`: voxel-wise and lesion-level average precision.
- :mod:`mslesion.metrics.aggregate`: per-case rows -> dataset summaries with bootstrap CIs.
- :mod:`mslesion.metrics.pairing`: match prediction and truth files to cases by file name.

All functions take numpy volumes of shape (X, Y, Z) in file voxel order and a voxel
``spacing`` in mm; volumes are reported in mm^3 and distances in mm.
"""

from mslesion.metrics.lesion import label_lesions, lesion_metrics
from mslesion.metrics.voxel import voxel_metrics

__all__ = ["label_lesions", "lesion_metrics", "voxel_metrics"]
