"""Skull-stripped MNI-space input: passed straight through vs affine-registered anyway.

`mslesion segment` detects a skull-stripped scan on the 1 mm MNI grid and uses it as it is,
without registering it to the template. The open_ms_data brains on that grid are ~0.85 of
the template's size, so one may ask whether an affine fit would serve the model better. This
script segments each such scan twice with the same model, once as shipped and once with the
detection switched off (so the scan is registered like any native scan), and prints the Dice
of each against the scan's expert mask.

    MSLESION_DATA=../shared/data .venv/bin/python benchmarks/mni_passthrough.py [--model NAME]
"""

from __future__ import annotations

import argparse

from mslesion.infer.predictor import Predictor
from mslesion.infer.weights import resolve_model
from mslesion.io.datasets import find_cases
from mslesion.io.nifti import load_mask, load_volume
from mslesion.metrics.voxel import voxel_metrics
from mslesion.paths import require_shared_data
from mslesion.preprocess import register


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="shipped model name or .pt (default model)")
    args = parser.parse_args()
    root = require_shared_data() / "real" / "open_ms_data"
    predictor = Predictor.from_checkpoint(resolve_model(args.model))
    threshold = predictor.default_threshold
    shipped_check = register.is_mni_skullstripped
    print(f"{'case':<12}{'passed through':>16}{'registered':>12}{'predicted / true voxels':>26}")
    for case in find_cases(root):
        if case.lesion_mask is None:
            continue
        volume = load_volume(case.flair)
        if not shipped_check(volume):
            continue
        truth = load_mask(case.lesion_mask, volume).data > 0.5
        scores, sizes = [], []
        # (the only switch: with the detection off the scan takes the native-scan path)
        for detect in (shipped_check, lambda _volume, **_kw: False):
            register.is_mni_skullstripped = detect
            try:
                pred = predictor.predict(volume).probability >= threshold
            finally:
                register.is_mni_skullstripped = shipped_check
            scores.append(voxel_metrics(pred, truth, surface=False)["dice"])
            sizes.append(int(pred.sum()))
        print(
            f"{case.case_id:<12}{scores[0]:>16.3f}{scores[1]:>12.3f}"
            f"{f'{sizes[0]:,} / {sizes[1]:,} / {int(truth.sum()):,}':>26}"
        )


if __name__ == "__main__":
    main()
