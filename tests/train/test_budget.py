"""Time budgets: the pure sizing helpers and the F.sh loop re-sizing its epochs."""

from __future__ import annotations

import csv
from pathlib import Path

from mslesion.train.budget import iterations_for_budget, patches_for_budget
from mslesion.train.loop import train


def _rows(run: Path) -> list[dict[str, str]]:
    with open(run / "metrics.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_iterations_for_budget_spreads_the_time_left():
    assert iterations_for_budget(100.0, 10, 0.5) == 20
    assert iterations_for_budget(100.0, 10, 2.0) == 5
    assert iterations_for_budget(-5.0, 3, 0.5) == 1  # over budget: one step per epoch
    assert iterations_for_budget(100.0, 0, 0.5) == 1


def test_patches_for_budget_takes_the_overhead_off_first():
    # 100 s over 4 epochs at 0.5 s a batch of 2: 50 batches each, 100 patches.
    assert patches_for_budget(100.0, 4, 0.5, 0.0, 2) == 100
    # 5 s of validation per epoch leaves 80 s: 40 batches each.
    assert patches_for_budget(100.0, 4, 0.5, 5.0, 2) == 80
    assert patches_for_budget(10.0, 4, 0.5, 5.0, 2) == 2  # overhead eats it all: one batch
    assert patches_for_budget(100.0, 4, 0.5, 0.0, 3) % 3 == 0


def test_fsh_loop_fits_its_epochs_to_the_budget(tmp_path: Path, make_config) -> None:
    fixed = tmp_path / "fixed"
    train(make_config(epochs=3), fixed)
    assert [int(r["patches"]) for r in _rows(fixed)] == [8, 8, 8]
    # A spent budget: the first epoch measures, every later one is a single batch.
    spent = tmp_path / "spent"
    train(make_config(epochs=3, time_budget_s=1e-3), spent)
    assert [int(r["patches"]) for r in _rows(spent)] == [8, 4, 4]
    # ~40 epochs' worth of time for the two epochs left: they grow (room for a machine that
    # runs several times slower than when the first epoch was timed).
    epoch_s = min(float(r["time_s"]) for r in _rows(fixed))
    grown = tmp_path / "grown"
    train(make_config(epochs=3, time_budget_s=40 * epoch_s), grown)
    rows = _rows(grown)
    assert all(int(r["patches"]) % 4 == 0 for r in rows)
    assert max(int(r["patches"]) for r in rows[1:]) > 8
