"""Synthesis settings shared by the synth tests (small 3 mm volumes)."""

from mslesion.synth import SynthConfig

SMALL = SynthConfig(voxel_size_mm=3.0, lesion_load="medium")
# Noise-free, undeformed and cut loose: the template's tissue maps are then the case's.
CLEAN = SynthConfig(
    voxel_size_mm=3.0, lesion_load="high", snr=None, deform=False, brain_mask="loose"
)
