"""Which volumes a config's runs read, and filling their cache before the runs start.

Several runs of one config side by side (the folds of a cross-validation and the final model
on one GPU) read the same preprocessed volumes; started together, each would generate and
write them itself. :func:`prepare_cache` fills the cache once, in parallel processes, so that
the runs then only read it (``mslesion train CONFIG --prepare-only``).
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from mslesion.data.dataset import PreprocessSettings, VolumeData, load_case, synthetic_volume
from mslesion.errors import ConfigError
from mslesion.io.cases import Case
from mslesion.train.config import TrainConfig

# Synthetic validation volumes (used only when no real case is held out) take seeds far from
# the training ones so the two never coincide.
VAL_SYNTH_OFFSET = 1_000_000


def synthetic_train_seeds(cfg: TrainConfig) -> list[int]:
    """Seeds of the ``data.synthetic`` training volumes."""
    return [cfg.seed + k for k in range(cfg.data.synthetic)]


def synthetic_val_seeds(cfg: TrainConfig) -> list[int]:
    """Seeds of the synthetic validation volumes of a run that holds out no real case."""
    if not cfg.data.synthetic:
        return []
    return [cfg.seed + VAL_SYNTH_OFFSET + k for k in range(max(1, cfg.data.synthetic // 4))]


def load_volume(job: Case | int, cfg: TrainConfig, cache_dir: Path | None) -> VolumeData:
    """One volume of a run: a real case, or the synthetic volume of seed ``job``; read from
    ``cache_dir`` when it holds it, else built (and stored there, unless it is None)."""
    prep = PreprocessSettings(cfg.data.normalization, cfg.data.percentiles)
    if isinstance(job, Case):
        return load_case(job, prep, cache_dir)
    return synthetic_volume(int(job), cfg.data.synth, prep, cache_dir)


def _fill(job: Case | int, cfg: TrainConfig, cache_dir: Path) -> None:
    load_volume(job, cfg, cache_dir)  # (nothing sent back from the worker but completion)


def prepare_cache(
    cfg: TrainConfig, cases: list[Case], cache_dir: Path, workers: int = 1, progress: Any = None
) -> int:
    """Write every volume any run of ``cfg`` on ``cases`` reads into ``cache_dir``: the real
    cases (each is a training or a validation volume, depending on the fold), the synthetic
    training volumes and the synthetic validation ones. Returns how many volumes it holds.

    The first volume is built in this process (a synthetic one builds the synthesis template,
    which forked workers then share); the rest in ``workers`` processes.
    """
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    jobs: list[Case | int] = [*cases, *synthetic_train_seeds(cfg), *synthetic_val_seeds(cfg)]
    if not jobs:
        raise ConfigError("data: nothing to prepare (give data.paths and/or data.synthetic > 0)")
    task = progress.add_task("filling the volume cache", total=len(jobs)) if progress else None

    def advance() -> None:
        if progress:
            progress.advance(task)

    started = time.perf_counter()
    _fill(jobs[0], cfg, cache_dir)
    advance()
    rest = jobs[1:]
    if workers == 1:
        for job in rest:
            _fill(job, cfg, cache_dir)
            advance()
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(_fill, rest, [cfg] * len(rest), [cache_dir] * len(rest)):
                advance()
    if progress:
        progress.update(task, description=f"cache filled in {time.perf_counter() - started:.0f} s")
    return len(jobs)
