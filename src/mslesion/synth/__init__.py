"""Semi-synthetic FLAIR with exact lesion masks (anatomy -> deformation -> lesions -> contrast).

``generate_case(seed, SynthConfig(...))`` makes one case in memory; ``write_dataset`` and
``write_example`` write flat ``caseNNN_FLAIR/_mask/_brainmask.nii.gz`` folders that
``mslesion.io.datasets.find_cases`` reads.
"""

from mslesion.synth.config import SynthCase, SynthConfig
from mslesion.synth.generate import SyntheticCaseDataset, generate_case
from mslesion.synth.writer import write_case, write_dataset, write_example

__all__ = [
    "SynthCase",
    "SynthConfig",
    "SyntheticCaseDataset",
    "generate_case",
    "write_case",
    "write_dataset",
    "write_example",
]
