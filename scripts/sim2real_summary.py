"""Tables of the sim-to-real runs (``scripts/sim2real.sh``): per-case metrics -> patients.

    python scripts/sim2real_summary.py ../shared/data/real docs/results/sim2real/cases/*.csv

Each CSV is one run's ``mslesion evaluate`` per-case output, named ``<generator>_seed<k>.csv``.
A patient's scans are averaged first (P14's three time points count once), then the patients,
as ``mslesion crossval`` does; then the seeds of each generator.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from mslesion.cli.segment import display_id
from mslesion.io.datasets import find_cases
from mslesion.report.crossval import overall_means, patient_means, records_table

METRICS = ("dice", "lesion_tpr", "lesion_f1", "lesion_fpr", "voxel_ap", "lesion_tpr_small")


def _value(text: str) -> float:
    return float(text) if text not in ("", "nan") else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("real", type=Path, help="the real dataset the runs were scored on")
    parser.add_argument("csvs", type=Path, nargs="+", help="<generator>_seed<k>.csv files")
    args = parser.parse_args()
    subject_of = {display_id(c): c.subject for c in find_cases(args.real)}
    rows = []
    for path in args.csvs:
        generator, _, seed = path.stem.rpartition("_seed")
        with path.open() as fh:
            for r in csv.DictReader(fh):
                rows.append(
                    {
                        "method": f"{generator} seed {seed}",
                        "degradation": "clean",
                        "threshold": 0.5,
                        "subject": subject_of[r["case"]],
                        **{m: _value(r[m]) for m in METRICS},
                    }
                )
    per_patient = patient_means(rows, METRICS)
    per_run = overall_means(per_patient, METRICS)
    columns = ["method", "patients", *METRICS]
    print(records_table(per_run, columns))
    by_generator = [
        {**r, "method": r["method"].split(" seed ")[0], "degradation": "clean"} for r in per_run
    ]
    print()
    print(records_table(overall_means(by_generator, METRICS), ["method", *METRICS]))
    print()
    print(records_table(per_patient, ["method", "subject", "scans", "dice", "lesion_tpr"]))


if __name__ == "__main__":
    main()
