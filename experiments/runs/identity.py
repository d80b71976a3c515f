"""Run identity (docs/architecture.md):
``<runs_dir>/<sweep>/<task>/<optimizer>/<overrides>/seed=<s>``.

The same command always finds the same directory: no dates, and operational keys never change it.
``<overrides>`` encodes every command-line override that changes the run's science, with values
read back from the resolved config so that ``lr=1e-3`` and ``lr=0.001`` name one directory.
The name's format, and how it is read back, is ``experiments.runs.run_name``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from experiments.config_checks import ConfigError
from experiments.loop_options import LoopOptions
from experiments.runs.run_name import run_name_parts

OPERATIONAL_KEYS = frozenset(
    {
        "runs_dir",
        "data_dir",
        "device",
        "logger",
        "launcher",
        "log_every",
        "checkpoint_every",
        "keep_checkpoint",
        "force",
        "diagnostics",
        "hydra",
    }
)
"""Keys that change how a run is executed or recorded, never what it computes."""

_ENCODED_ELSEWHERE = frozenset({"task", "optimizer", "seed", "sweep", "paper"})
ANALYSIS_KEYS = ("task.target",)
"""Recipe keys that only analyses read (the time-to-target threshold): like the operational
keys they neither name the run directory nor take part in the resume check, so a changed or
added target leaves existing runs valid."""


def _analysis_key(key: str) -> bool:
    return any(key == name or key.startswith(name + ".") for name in ANALYSIS_KEYS)


def _format_value(value: Any) -> str:
    if isinstance(value, DictConfig | Mapping) or OmegaConf.is_list(value):
        value = OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
    if isinstance(value, list | tuple):
        return "[" + ",".join(_format_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_format_value(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def scientific_overrides(
    overrides: Sequence[str], cfg: DictConfig, choices: Mapping[str, Any]
) -> dict[str, str]:
    """The overrides that change the run's science, as ``{key: canonical value}``, sorted."""
    result: dict[str, str] = {}
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        key = override.key_or_group
        top = key.split(".")[0].split("/")[0]
        if top in OPERATIONAL_KEYS or key in _ENCODED_ELSEWHERE or key.startswith("hydra"):
            continue
        if _analysis_key(key):
            continue
        if override.is_delete():
            result[f"~{key}"] = "deleted"
        elif key in choices:
            result[key] = str(choices[key])
        else:
            result[key] = _format_value(OmegaConf.select(cfg, key))
    return dict(sorted(result.items()))


def run_dir(cfg: DictConfig, overrides: Mapping[str, str], choices: Mapping[str, Any]) -> Path:
    """The run directory of a composed config."""
    task = str(choices.get("task", cfg.task.name))
    optimizer = str(choices.get("optimizer", "custom"))
    parts = run_name_parts(str(cfg.sweep), task, optimizer, overrides, cfg.seed)
    return Path(cfg.runs_dir).joinpath(*parts)


@dataclass(frozen=True)
class RunIdentity:
    """Who a run is: the fields ``summary.json`` records and the directory they name."""

    task: str
    optimizer: str
    seed: int
    sweep: str
    overrides: dict[str, str]
    path: Path
    setting: str = ""
    """``setting_digest`` of the run's config: one value per setting, whatever the spelling."""

    @classmethod
    def of(
        cls, cfg: DictConfig, overrides: Sequence[str], choices: Mapping[str, Any]
    ) -> RunIdentity:
        science = scientific_overrides(overrides, cfg, choices)
        path = run_dir(cfg, science, choices)
        root = Path(cfg.runs_dir).resolve()
        if root not in path.resolve().parents or path.resolve().parents[4] != root:
            raise ConfigError(
                f"sweep={cfg.sweep!r} is invalid: the run directory {path} would be outside "
                f"runs_dir={cfg.runs_dir!r}; a name without '..' keeps it inside"
            )
        return cls(
            task=str(choices.get("task", cfg.task.name)),
            optimizer=str(choices.get("optimizer", "custom")),
            seed=cfg.seed,
            sweep=str(cfg.sweep),
            overrides=science,
            path=path,
            setting=setting_digest(cfg),
        )

    @property
    def name(self) -> str:
        """The run directory relative to ``runs_dir``: the run's label in logs and W&B (read
        back by ``experiments.runs.run_name.parse_run_name``)."""
        return str(self.path.relative_to(self.path.parents[4]))

    def record(self) -> dict[str, Any]:
        return {
            "task": self.task, "optimizer": self.optimizer, "seed": self.seed,
            "sweep": self.sweep, "overrides": self.overrides, "name": self.name,
            "setting": self.setting,
        }  # fmt: skip


def scientific_config(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The resolved config without its operational and analysis keys: what must match on
    resume."""
    container = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else cfg
    science = {k: v for k, v in dict(container).items() if k not in OPERATIONAL_KEYS}
    for dotted in ANALYSIS_KEYS:
        parent, leaf = dotted.rsplit(".", 1)
        node = science.get(parent)
        if isinstance(node, dict) and leaf in node:
            science[parent] = {k: v for k, v in node.items() if k != leaf}
    return science


def setting_digest(cfg: DictConfig | Mapping[str, Any]) -> str:
    """A digest of the run's science without its seed and sweep: the runs of one setting share
    it however their overrides were spelled (``optimizer.lr=0.001`` and the default 0.001),
    so the tables group them together while their directories may stay apart."""
    science = {k: v for k, v in scientific_config(cfg).items() if k not in ("seed", "sweep")}
    task = science.get("task")
    if isinstance(task, dict):  # a key added later, at its default: the runs stored before it
        absent = object()
        science["task"] = {k: v for k, v in task.items()
                           if ADDED_RECIPE_DEFAULTS.get(f"task.{k}", absent) != v}  # fmt: skip
    text = json.dumps(science, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


LOOP_RECIPE_DEFAULTS = {
    f"task.{name}": getattr(LoopOptions, name)
    for name in ("precision", "eval_precision", "compile", "clip_grad_norm", "update_freq")
}
"""The loop's recipe keys with the value a recipe that does not set them gets: a stored config
written before its recipe declared one of them still matches while the value is this default."""

ADDED_RECIPE_DEFAULTS = {"task.accept_corpus": False}
"""Recipe keys added after runs were stored, with the default that means what those runs did
(``task.accept_corpus``: the corpus must be the release, ``data.release_check``): a stored config
without one matches while the value is its default, and the setting digest leaves it out at its
default, so the runs stored before it keep grouping with the ones after it."""
_RESUME_DEFAULTS = {**LOOP_RECIPE_DEFAULTS, **ADDED_RECIPE_DEFAULTS}


def first_difference(stored: Any, current: Any, prefix: str = "") -> str | None:
    """The dotted key of the first difference between two nested configs, or None (a loop recipe
    key, or one added later, missing from ``stored`` matches its default: ``LOOP_RECIPE_DEFAULTS``,
    ``ADDED_RECIPE_DEFAULTS``)."""
    if isinstance(stored, dict) and isinstance(current, dict):
        for key in sorted(set(stored) | set(current), key=str):
            dotted = f"{prefix}{key}"
            if key not in stored and key in current and dotted in _RESUME_DEFAULTS:
                if current[key] == _RESUME_DEFAULTS[dotted]:
                    continue
            if key not in stored or key not in current:
                return f"{prefix}{key}"
            found = first_difference(stored[key], current[key], f"{prefix}{key}.")
            if found is not None:
                return found
        return None
    return None if stored == current else prefix.rstrip(".") or "<root>"
