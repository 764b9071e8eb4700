"""`mslesion train`: patch-based training with the F.sh recipe (or SynergyNet's staged recipe)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mslesion.errors import ConfigError, InputError

if TYPE_CHECKING:
    from mslesion.train.config import TrainConfig


def _set(raw: dict, dotted: str, value: object) -> None:
    node = raw
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def _parse_fold(text: str) -> tuple[int, int]:
    k, sep, n = text.partition("/")
    try:
        fold, n_folds = int(k), int(n)
    except ValueError:
        raise ConfigError(f"--fold: expected K/N such as 0/5, got {text!r}") from None
    if not sep or n_folds < 2 or not 0 <= fold < n_folds:
        raise ConfigError(f"--fold: expected K/N with 0 <= K < N and N >= 2, got {text!r}")
    return fold, n_folds


def _run_synergynet(cfg: object, run_dir: Path) -> Path:
    try:
        from mslesion.train.synergy import train_synergynet_run
    except ImportError as exc:
        raise InputError(
            None, f"the SynergyNet recipe is not available in this install ({exc})"
        ) from exc
    return train_synergynet_run(cfg, run_dir)


def _prepare(cfg: TrainConfig, run_dir: Path, workers: int) -> None:
    from mslesion.cli.common import console, progress
    from mslesion.train.loop import gather_cases, resolve_cache_dir
    from mslesion.train.prepare import prepare_cache

    if cfg.recipe == "synergynet":
        raise ConfigError("--prepare-only: the synergynet recipe is not supported yet")
    cache_dir = resolve_cache_dir(cfg, run_dir)
    if cache_dir is None:
        raise ConfigError("--prepare-only: data.cache_dir is null, so there is no cache to fill")
    with progress() as bar:
        count = prepare_cache(cfg, gather_cases(cfg.data.paths), cache_dir, workers, bar)
    console.print(f"[green]cache ready[/]: {count} volumes in {cache_dir}")


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_cmd(
        config: Path | None = typer.Argument(
            None, help="YAML config (defaults: the F.sh recipe); see configs/."
        ),
        data: list[Path] = typer.Option(
            [], "--data", help="Dataset folder or CSV manifest (repeatable)."
        ),
        synthetic: int | None = typer.Option(
            None, "--synthetic", help="Number of synthetic volumes to mix in."
        ),
        synthetic_ratio: float | None = typer.Option(
            None, "--synthetic-ratio", help="Share of patches from synthetic volumes."
        ),
        model: str | None = typer.Option(
            None, "--model", help="Registered model name (mslesion models)."
        ),
        init_weights: str | None = typer.Option(
            None,
            "--init-weights",
            help="Start from these weights (checkpoint path or shipped model name) to fine-tune.",
        ),
        epochs: int | None = typer.Option(None, "--epochs", help="Number of epochs."),
        val_subject: list[str] = typer.Option(
            [], "--val-subject", help="Subject held out for validation (repeatable)."
        ),
        fold: str | None = typer.Option(
            None, "--fold", help="Cross-validation fold K/N (0-based K), e.g. 0/5."
        ),
        set_: list[str] = typer.Option(
            [], "--set", help="Override any setting: key.sub=value (repeatable)."
        ),
        run_dir: Path | None = typer.Option(
            None, "--run-dir", help="Run folder (default runs/<config>-<time>)."
        ),
        resume: bool = typer.Option(
            False, "--resume", help="Continue the run in --run-dir from last.pt."
        ),
        device: str | None = typer.Option(None, "--device", help="auto, cpu or cuda."),
        recipe: str | None = typer.Option(None, "--recipe", help="fsh (default) or synergynet."),
        prepare_only: bool = typer.Option(
            False,
            "--prepare-only",
            help="Only fill data.cache_dir with every volume the config's runs (all folds) "
            "read, then stop: runs started side by side afterwards just read it.",
        ),
        workers: int = typer.Option(
            1, "--workers", help="With --prepare-only: processes that build the volumes."
        ),
    ) -> None:
        """Train a segmentation model on patches; validate on whole volumes each epoch.

        Writes config.yaml, metrics.csv, curves_*.png, TensorBoard events, last.pt and best.pt
        to the run folder. Under `torchrun --nproc_per_node N` it trains data-parallel.
        """
        from mslesion.train.config import config_from_dict, read_yaml

        if val_subject and fold:
            raise ConfigError("--val-subject and --fold: give one or the other")
        if resume and run_dir is None:
            raise ConfigError("--resume needs --run-dir (the run folder to continue)")
        if run_dir is None:
            stem = config.stem if config is not None else "train"
            run_dir = Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        if config is not None:
            raw = read_yaml(config)
        elif resume and (run_dir / "config.yaml").is_file():
            raw = read_yaml(run_dir / "config.yaml")
        else:
            raw = {}
        for path in data:
            if not path.exists():
                raise InputError(path, "dataset path not found")
        cli_values = {
            "data.paths": [str(p) for p in data] or None,
            "data.synthetic": synthetic,
            "data.synthetic_ratio": synthetic_ratio,
            "model.name": model,
            "model.init_weights": init_weights,
            "epochs": epochs,
            "split.val_subjects": list(val_subject) or None,
            "device": device,
            "recipe": recipe,
        }
        if fold:
            k, n = _parse_fold(fold)
            cli_values.update({"split.fold": k, "split.n_folds": n, "split.val_subjects": []})
        for key, value in cli_values.items():
            if value is not None:
                _set(raw, key, value)
        cfg = config_from_dict(raw, list(set_))
        if prepare_only:
            _prepare(cfg, run_dir, workers)
            return

        if cfg.recipe == "synergynet":
            # The SynergyNet trainer reads its own section for the model and schedule; the
            # data, the split (--fold) and the synthetic volumes are the common settings.
            import dataclasses

            section = dict(cfg.synergynet)
            for key, value in (("model", model), ("device", device)):
                if value is not None:
                    section[key] = value
            if resume:
                raise ConfigError("--resume: the synergynet recipe cannot resume a run yet")
            best = _run_synergynet(dataclasses.replace(cfg, synergynet=section), run_dir)
            typer.echo(f"done: {best}")
            return

        from mslesion.cli.common import console, progress
        from mslesion.train.loop import train

        with progress() as bar:
            result = train(cfg, run_dir, resume=resume, progress=bar)
        if result.last_metrics and os.environ.get("RANK", "0") == "0":  # once under torchrun
            m = result.last_metrics
            shown = ", ".join(
                f"{k}={m[k]:.4f}"
                for k in ("train_loss", "val_loss", "val_dice", "val_lesion_tpr")
                if k in m
            )
            console.print(f"[green]done[/]: {result.epochs_done} epochs in {run_dir} ({shown})")
