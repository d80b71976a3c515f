"""Refuse bad input before anything is written: one line naming the key, the value and what is
allowed, exit code 2 (docs/architecture.md, "Exit codes")."""

from __future__ import annotations

import difflib
import importlib
import inspect
import math
import os
from collections.abc import Sequence
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from experiments.config_dir import CONFIG_DIR


class ConfigError(Exception):
    """Bad input; the message is the one line the user sees."""


def _require(condition: bool, key: str, value: object, allowed: str) -> None:
    if not condition:
        raise ConfigError(f"{key}={value!r} is invalid: {allowed}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def positive_int(key: str, value: object, nullable: bool = False) -> int | None:
    """The one check of every count a config gives (batch sizes, epochs, update counts, every-N
    settings, beam sizes): an integer >= 1 (or null where ``nullable``), else ``ConfigError``
    naming the key."""
    if value is None and nullable:
        return None
    allowed = "null or an integer >= 1" if nullable else "an integer >= 1"
    _require(_is_int(value) and value >= 1, key, value, allowed)
    return value  # type: ignore[return-value]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def probability(key: str, value: object, below_one: bool = False) -> float:
    """The one check of every probability a config gives (dropout rates): a number in [0, 1]
    (in [0, 1) where ``below_one``: a rate the code divides by 1 − p), else ``ConfigError``."""
    valid = _is_number(value) and 0 <= value and (value < 1 if below_one else value <= 1)
    _require(valid, key, value, "a number in [0, 1)" if below_one else "a number in [0, 1]")
    return float(value)  # type: ignore[arg-type]


def non_negative(key: str, value: object) -> float:
    """A finite number >= 0 (regularisation weights, generation lengths), else ``ConfigError``."""
    valid = _is_number(value) and math.isfinite(value) and value >= 0
    _require(valid, key, value, "a finite number >= 0")
    return value  # type: ignore[return-value]


def check_optimizer(optimizer: DictConfig) -> None:
    """The hyperparameters every Adam/SGD-like preset shares, and, for any optimizer class, that
    a keyword whose default is a number gets a finite number (a string or ``inf`` is refused
    here, not met as a comparison error inside the class)."""
    if "lr" in optimizer:
        lr = optimizer.lr
        valid = _is_number(lr) and math.isfinite(lr) and lr > 0
        _require(valid, "optimizer.lr", lr, "a finite positive number")
    if "betas" in optimizer:
        betas = list(optimizer.betas)
        valid = len(betas) == 2 and all(_is_number(b) and 0 <= b < 1 for b in betas)
        _require(valid, "optimizer.betas", betas, "two numbers in [0, 1)")
    for key in ("weight_decay", "eps"):
        if key in optimizer:
            non_negative(f"optimizer.{key}", optimizer[key])
    for key, default in _numeric_defaults(optimizer.get("_target_")).items():
        if key in optimizer and optimizer[key] is not None:
            value = optimizer[key]
            valid = _is_number(value) and math.isfinite(value)
            _require(valid, f"optimizer.{key}", value, f"a finite number (default {default})")


def _numeric_defaults(target: object) -> dict[str, float]:
    """The keywords of an optimizer class whose defaults are numbers (nothing when the class
    cannot be imported: building the optimizer then says why)."""
    if not isinstance(target, str) or "." not in target:
        return {}
    module_name, _, name = target.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), name)
        parameters = inspect.signature(cls).parameters
    except (ImportError, AttributeError, TypeError, ValueError):
        return {}
    return {
        key: parameter.default
        for key, parameter in parameters.items()
        if _is_number(parameter.default)
    }


TASK_COUNTS = ("batch_size", "eval_batch_size", "epochs", "max_updates", "update_freq")


def check_task_keys(task: DictConfig) -> None:
    """The recipe keys that count something must be positive integers, checked before the task
    is built (a batch size of 0 is bad input, not a failed run)."""
    for key in TASK_COUNTS:
        if key in task and task[key] is not None:
            positive_int(f"task.{key}", task[key])
    check_target(task.get("target"))


TARGET_KEYS = ("metric", "value", "source", "assumed")
PERCENT_METRICS = frozenset({"acc", "bleu"})
"""Metrics the suite reports in percent (``experiments/tasks``): a target outside [0, 100]."""


def check_target(target: object) -> None:
    """``task.target``: null, or ``{metric: val/<name>, value: <number>, source, assumed}``; a
    validation metric (AlgoPerf's targets are validation targets: the test split stays unseen)
    and a finite value, in [0, 100] for the percentages. Whether the task evaluates ``val`` is
    known once it is built: a run without a validation split does not track its target."""
    if target is None:
        return
    shape = "null or {metric: val/<name>, value: <number>, source: <text>, assumed: <bool>}"
    _require(isinstance(target, DictConfig), "task.target", target, shape)
    for key in sorted(set(target) - set(TARGET_KEYS), key=str):
        raise ConfigError(f"unknown key task.target.{key}: its keys are {', '.join(TARGET_KEYS)}")
    metric, value = target.get("metric"), target.get("value")
    valid = isinstance(metric, str) and metric.startswith("val/") and len(metric) > 4
    _require(valid, "task.target.metric", metric, "a validation metric such as val/acc")
    _require(_is_number(value) and math.isfinite(value), "task.target.value", value, "a number")
    if metric.rsplit("/", 1)[-1] in PERCENT_METRICS:
        _require(0 <= value <= 100, "task.target.value", value, f"{metric} is in percent: 0-100")


def resolve_device(name: str) -> torch.device:
    _require(name in {"auto", "cpu", "cuda"}, "device", name, "one of auto, cpu, cuda")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "device='cuda' is invalid: no CUDA GPU is available here (use auto or cpu)"
        )
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


RUN_LEVEL_KEYS = frozenset(
    {
        "task", "optimizer", "schedule", "logger", "launcher", "seed", "sweep", "runs_dir",
        "data_dir", "device", "deterministic", "max_steps", "log_every", "eval_every",
        "checkpoint_every", "keep_checkpoint", "force", "diagnostics",
    }
)  # fmt: skip


def check_run_keys(cfg: DictConfig) -> None:
    unknown = sorted(set(cfg) - RUN_LEVEL_KEYS)
    if unknown:
        known = ", ".join(sorted(RUN_LEVEL_KEYS))
        raise ConfigError(f"unknown config key {unknown[0]!r}: the run-level keys are {known}")
    _require(_is_int(cfg.seed) and cfg.seed >= 0, "seed", cfg.seed, "an integer >= 0")
    positive_int("checkpoint_every", cfg.checkpoint_every)
    positive_int("log_every", cfg.log_every)
    positive_int("eval_every", cfg.eval_every, nullable=True)
    max_steps = cfg.max_steps  # 0 is allowed: a run that only evaluates
    valid = max_steps is None or (_is_int(max_steps) and max_steps >= 0)
    _require(valid, "max_steps", max_steps, "null or an integer >= 0")
    keep = cfg.keep_checkpoint
    _require(keep in {"last", "none"}, "keep_checkpoint", keep, "last or none")
    _require(
        isinstance(cfg.deterministic, bool), "deterministic", cfg.deterministic, "true or false"
    )
    _require(isinstance(cfg.force, bool), "force", cfg.force, "true or false")
    _require(isinstance(cfg.sweep, str) and bool(cfg.sweep), "sweep", cfg.sweep, "a name")
    check_task_keys(cfg.task)
    check_optimizer(cfg.optimizer)


def check_writable(runs_dir: str) -> None:
    """``runs_dir`` must exist or be creatable, and be writable."""
    path = Path(runs_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"runs_dir={runs_dir!r} cannot be created: {error.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"runs_dir={runs_dir!r} is not writable: choose a writable directory")


def check_overrides(overrides: Sequence[str]) -> None:
    """Compose the command line's overrides once, so that an unknown key or config group option
    is a one-line error with exit 2 rather than Hydra's multi-line report."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException

    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            compose(config_name="train", overrides=list(overrides))
    except HydraException as error:
        raise ConfigError(composition_error(error, overrides)) from None


def composition_error(error: Exception, overrides: Sequence[str]) -> str:
    """One line for Hydra's composition errors: an unknown config group option or paper file
    names the closest options, an unknown key the closest known key (or the ``+`` it needs)."""
    from hydra.errors import MissingConfigException

    if isinstance(error, MissingConfigException) and error.missing_cfg_file:
        return missing_option(str(error.missing_cfg_file), list(error.options or []))
    cause = error.__cause__
    message = str(cause or error).strip().splitlines()
    message = message[0] if message else type(error).__name__
    if message.startswith("Could not override '") and "No match in the defaults list" in message:
        group = message.split("'")[1]
        if group == "task/size":  # only the recipes with a file in configs/task/smoke/ have one
            sized = ", ".join(
                sorted(p.stem for p in (CONFIG_DIR / "task" / "smoke").glob("*.yaml"))
            )
            return f"task/size: this task has no smoke size; the recipes with one: {sized}"
        return f"{group} is not in the defaults list: add it with +{group}=<option>"
    key = getattr(cause, "full_key", None)
    if key:
        override = next((o for o in overrides if o.lstrip("+~").split("=")[0] == key), None)
        shown = f" (from {override!r})" if override else ""
        return f"unknown config key {key!r}{shown}: {_key_hint(key, override)}"
    return message.rstrip(".")


def missing_option(missing: str, options: list[str]) -> str:
    """``group/option`` is not a config: the closest options of the group (a nested group such
    as ``paper/radam`` lists its own files)."""
    group, _, option = missing.rpartition("/")
    if not options:
        folder = CONFIG_DIR / group
        options = sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
    close = difflib.get_close_matches(option, options, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    listed = ", ".join(options) or "none"
    return f"{group}={option} is not a config of {group}: {hint}options: {listed}"


def _key_hint(key: str, override: str | None) -> str:
    """The closest known key, or the ``+`` that adds a keyword an optimizer class takes."""
    parent, _, leaf = key.rpartition(".")
    if not parent:
        close = difflib.get_close_matches(leaf, sorted(RUN_LEVEL_KEYS), n=1, cutoff=0.6)
        if close:
            return f"did you mean {close[0]}?"
        return f"the run-level keys are {', '.join(sorted(RUN_LEVEL_KEYS))}"
    if override is not None and not override.startswith("+"):
        return (
            f"{parent} has no key {leaf!r}; to add one (e.g. a keyword of a custom optimizer "
            f"class) write +{override}"
        )
    return (
        f"{parent} has no key {leaf!r}: list the keys with `python -m experiments.train --cfg job`"
    )


def to_container(node: DictConfig) -> dict:
    return OmegaConf.to_container(node, resolve=True)
