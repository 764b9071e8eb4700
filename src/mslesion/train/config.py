"""Training configuration: frozen dataclasses, read from YAML with ``key.sub=value`` overrides.

Every hyperparameter of the F.sh recipe is a field here (defaults = F.sh). Problems raise
:class:`~mslesion.errors.ConfigError` naming the dotted key, e.g.
``data.patch_size: expected a list of 3 integers, got 'big'``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mslesion.data.augment import AugmentConfig
from mslesion.errors import ConfigError


@dataclass(frozen=True)
class DataConfig:
    """Where volumes come from and how patches are drawn (sizes in voxels).

    ``paths``: dataset folders or CSV manifests (any ``mslesion datasets`` layout).
    ``synthetic``: number of semi-synthetic volumes generated (seeds ``seed + k``) and mixed in,
    ``synthetic_ratio`` of each epoch's patches; ``synth``: ``SynthConfig`` keyword arguments.
    ``cache_dir``: preprocessed-volume cache; "auto" = ``<run_dir>/../.cache``, null = none.
    """

    paths: tuple[str, ...] = ()
    synthetic: int = 0
    synthetic_ratio: float = 0.5
    synth: dict[str, Any] = field(default_factory=dict)
    normalization: str = "minmax"
    percentiles: tuple[float, float] = (0.5, 99.5)
    patch_size: tuple[int, int, int] = (64, 64, 64)
    stride: tuple[int, int, int] = (32, 32, 32)
    positive_share: float = 0.5
    min_lesion_voxels: int = 1
    min_brain_fraction: float = 0.25
    patches_per_epoch: int = 400
    batch_size: int = 2
    num_workers: int = 0
    cache_dir: str | None = "auto"


@dataclass(frozen=True)
class SplitConfig:
    """Subject-wise validation split: explicit ``val_subjects``, or fold ``fold`` of
    ``n_folds``, or else a ``val_fraction`` of subjects drawn with ``seed``."""

    val_subjects: tuple[str, ...] = ()
    fold: int | None = None
    n_folds: int = 5
    val_fraction: float = 0.2
    seed: int = 0


@dataclass(frozen=True)
class ModelSection:
    """A registry model name and its constructor keyword arguments.

    ``init_weights``: a checkpoint path or a shipped model name (``mslesion models``) whose
    weights start the run instead of a random initialisation (pre-train then fine-tune); its
    architecture must be exactly ``name`` + ``kwargs``. Optimizer and schedule start fresh.
    """

    name: str = "r2attunet"
    kwargs: dict[str, Any] = field(default_factory=dict)
    init_weights: str | None = None


@dataclass(frozen=True)
class OptimConfig:
    """Adam (F.sh: lr 1e-4); ``grad_clip`` = max gradient norm or null."""

    lr: float = 1e-4
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float | None = None


@dataclass(frozen=True)
class SchedulerConfig:
    """Learning-rate schedule, stepped once per epoch.

    ``plateau`` (F.sh): ReduceLROnPlateau by ``factor`` on the validation loss, counted in
    validations (the training loss when there is no validation set). ``poly``: lr0 * (1 -
    epoch / epochs) ** ``power`` (nnU-Net's schedule); short CPU runs end at a small learning
    rate this way, so their last epoch is a settled model rather than one noisy step.
    """

    kind: str = "plateau"
    power: float = 0.9
    factor: float = 0.5
    patience: int = 5
    min_lr: float = 1e-7


@dataclass(frozen=True)
class LossConfig:
    """F.sh: 0.5 BCE + 0.5 soft Dice."""

    bce_weight: float = 0.5
    dice_weight: float = 0.5


# What validation reports per epoch (see mslesion.train.validate); best.pt can follow any.
VALIDATION_METRICS = (
    "loss",
    "bce",
    "dice_loss",
    "dice",
    "sensitivity",
    "specificity",
    "precision",
    "accuracy",
    "f1",
    "iou",
    "lesion_tpr",
    "lesion_fpr",
    "lesion_f1",
)


@dataclass(frozen=True)
class ValidationConfig:
    """Whole-volume sliding-window validation; ``best_metric`` picks ``best.pt``.

    ``overlap`` is the window overlap fraction; ``threshold`` on the sigmoid probability;
    ``crop_to_brain`` runs the window only over the brain's bounding box (outside is 0).
    """

    every: int = 1
    overlap: float = 0.5
    sw_batch_size: int = 2
    blend: str = "gaussian"
    threshold: float = 0.5
    crop_to_brain: bool = True
    best_metric: str = "dice"
    best_mode: str = "max"


@dataclass(frozen=True)
class TrainConfig:
    """A whole run. ``recipe: synergynet`` hands the ``synergynet`` section to its trainer.

    ``time_budget_s``: wall-clock seconds for the whole run (this process); the number of
    epochs stays, and every epoch after the first is re-sized (``patches_per_epoch``) to the
    step time just measured. None = fixed epochs of ``data.patches_per_epoch``.
    """

    seed: int = 0
    epochs: int = 70
    time_budget_s: float | None = None
    device: str = "auto"
    amp: bool = True
    deterministic: bool = True
    threads: int | None = None
    recipe: str = "fsh"
    data: DataConfig = field(default_factory=DataConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    model: ModelSection = field(default_factory=ModelSection)
    optim: OptimConfig = field(default_factory=OptimConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    synergynet: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))


def _plain(value: Any) -> Any:
    """Tuples -> lists, recursively (YAML-friendly)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


# ---------------------------------------------------------------- parsing and type checks


def _describe(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_describe(args[0])}s"
        return f"a list of {len(args)} {_describe(args[0])}s"
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_describe(a) for a in args)
    return {
        int: "integer",
        float: "number",
        str: "string",
        bool: "boolean (true/false)",
        type(None): "null",
        dict: "mapping",
    }.get(origin or tp, getattr(tp, "__name__", str(tp)))


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """Check ``value`` against the annotation ``tp`` and convert (lists -> tuples, int -> float)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    bad = ConfigError(f"{key}: expected {_describe(tp)}, got {value!r}")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping of {tp.__name__} settings, got {value!r}")
        return _build(tp, value, key + ".")
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(key, value, arg)
            except ConfigError:
                continue
        raise bad
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise bad
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(f"{key}[{i}]", v, args[0]) for i, v in enumerate(value))
        if len(value) != len(args):
            raise bad
        return tuple(
            _coerce(f"{key}[{i}]", v, a) for i, (v, a) in enumerate(zip(value, args, strict=True))
        )
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise bad
        return dict(value)
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if tp is float:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, str):  # YAML 1.1 reads "1e-4" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                raise bad from None
        if not isinstance(value, int | float):
            raise bad
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise bad
        return value
    raise bad  # pragma: no cover - an annotation this parser does not know


def _build(cls: type, raw: dict[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in raw:
        if key not in names:
            raise ConfigError(f"{prefix}{key}: unknown key (known: {', '.join(names)})")
    kwargs = {k: _coerce(prefix + k, v, hints[k]) for k, v in raw.items()}
    return cls(**kwargs)


def _choice(key: str, value: Any, allowed: tuple[Any, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}: must be one of {', '.join(map(str, allowed))}, got {value!r}")


def _check(key: str, ok: bool, problem: str) -> None:
    if not ok:
        raise ConfigError(f"{key}: {problem}")


def validate(cfg: TrainConfig) -> TrainConfig:
    """Range checks beyond types; raises :class:`ConfigError` naming the key."""
    d, s, o, v = cfg.data, cfg.split, cfg.optim, cfg.validation
    _check("epochs", cfg.epochs >= 1, f"must be >= 1, got {cfg.epochs}")
    _choice("device", cfg.device, ("auto", "cpu", "cuda"))
    _choice("recipe", cfg.recipe, ("fsh", "synergynet"))
    _check("threads", cfg.threads is None or cfg.threads >= 1, "must be >= 1 or null")
    _check("data.synthetic", d.synthetic >= 0, f"must be >= 0, got {d.synthetic}")
    _check(
        "data.synthetic_ratio",
        0.0 <= d.synthetic_ratio <= 1.0,
        f"must lie in [0, 1], got {d.synthetic_ratio}",
    )
    _choice("data.normalization", d.normalization, ("minmax", "zscore"))
    lo, hi = d.percentiles
    _check(
        "data.percentiles",
        0.0 <= lo < hi <= 100.0,
        f"need 0 <= low < high <= 100, got {list(d.percentiles)}",
    )
    _check(
        "data.patch_size",
        all(p >= 8 for p in d.patch_size),
        f"each size must be >= 8, got {list(d.patch_size)}",
    )
    _check("data.stride", all(st > 0 for st in d.stride), f"must be positive, got {list(d.stride)}")
    _check(
        "data.positive_share",
        0.0 <= d.positive_share <= 1.0,
        f"must lie in [0, 1], got {d.positive_share}",
    )
    _check("data.min_brain_fraction", 0.0 <= d.min_brain_fraction <= 1.0, "must lie in [0, 1]")
    _check("data.patches_per_epoch", d.patches_per_epoch >= 1, "must be >= 1")
    _check(
        "time_budget_s",
        cfg.time_budget_s is None or cfg.time_budget_s > 0,
        f"must be > 0 seconds (or null), got {cfg.time_budget_s}",
    )
    _check("data.batch_size", d.batch_size >= 1, "must be >= 1")
    _check("data.num_workers", d.num_workers >= 0, "must be >= 0")
    _check("split.n_folds", s.n_folds >= 2, f"must be >= 2, got {s.n_folds}")
    _check(
        "split.fold",
        s.fold is None or 0 <= s.fold < s.n_folds,
        f"must lie in [0, n_folds), got {s.fold}",
    )
    _check("split.val_fraction", 0.0 <= s.val_fraction < 1.0, "must lie in [0, 1)")
    _check("optim.lr", o.lr > 0, f"must be > 0, got {o.lr}")
    _check("optim.weight_decay", o.weight_decay >= 0, "must be >= 0")
    _check(
        "scheduler.factor",
        0.0 < cfg.scheduler.factor < 1.0,
        f"must lie in (0, 1), got {cfg.scheduler.factor}",
    )
    _check("scheduler.patience", cfg.scheduler.patience >= 0, "must be >= 0")
    _choice("scheduler.kind", cfg.scheduler.kind, ("plateau", "poly"))
    _check("scheduler.power", cfg.scheduler.power > 0, f"must be > 0, got {cfg.scheduler.power}")
    _check("loss.bce_weight", cfg.loss.bce_weight >= 0, "must be >= 0")
    _check("loss.dice_weight", cfg.loss.dice_weight >= 0, "must be >= 0")
    _check(
        "loss",
        cfg.loss.bce_weight + cfg.loss.dice_weight > 0,
        "bce_weight and dice_weight are both 0",
    )
    _check("validation.every", v.every >= 1, "must be >= 1")
    _check("validation.overlap", 0.0 <= v.overlap < 1.0, f"must lie in [0, 1), got {v.overlap}")
    _check("validation.threshold", 0.0 < v.threshold < 1.0, "must lie in (0, 1)")
    _choice("validation.blend", v.blend, ("gaussian", "constant"))
    _choice("validation.best_mode", v.best_mode, ("max", "min"))
    _choice("validation.best_metric", v.best_metric, VALIDATION_METRICS)
    for name in (
        "rotate_prob",
        "flip_prob",
        "elastic_prob",
        "gamma_prob",
        "bias_prob",
        "noise_prob",
        "contrast_prob",
    ):
        p = getattr(cfg.augment, name)
        _check(f"augment.{name}", 0.0 <= p <= 1.0, f"must lie in [0, 1], got {p}")
    return cfg


def set_override(raw: dict[str, Any], assignment: str) -> None:
    """Apply one ``"a.b.c=value"`` (value parsed as YAML: ``[32,32,32]``, ``1e-4``, ``true``)."""
    key, sep, text = assignment.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"{assignment!r}: overrides look like key.sub=value")
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{key}: cannot parse value {text!r} ({exc.__class__.__name__})") from exc
    parts = key.split(".")
    node = raw
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{'.'.join(parts[: i + 1])}: is a value, not a section")
        node = child
    node[parts[-1]] = value


def config_from_dict(
    raw: dict[str, Any], overrides: list[str] | tuple[str, ...] = ()
) -> TrainConfig:
    """Build and validate a :class:`TrainConfig` from a plain mapping plus overrides."""
    raw = _deep_copy(raw)
    for assignment in overrides:
        set_override(raw, assignment)
    return validate(_build(TrainConfig, raw))


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping of settings")
    return raw


def load_config(
    path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> TrainConfig:
    """Defaults (the F.sh recipe) <- YAML file <- ``key=value`` overrides."""
    return config_from_dict(read_yaml(path) if path is not None else {}, overrides)


def dump_config(cfg: TrainConfig) -> str:
    """The resolved config as YAML text (written to the run folder)."""
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)
