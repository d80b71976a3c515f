"""A benchmark as data: ``configs/benchmark/<name>.yaml`` (tasks, baseline optimizers, budgets,
seeds, the speed-up baseline, the sampler seed) plus a candidate given as Hydra overrides, with
each optimizer's search space from ``configs/search/<family>.yaml``.

Equal tuning budgets as AlgoPerf's external tuning ruleset frames them (Dahl et al. 2023,
arXiv:2306.07179, §4.4): every optimizer gets the same number of trials on every task, each
trial drawn from its own family's search space by a seeded random sampler, and the best trial on
the validation objective then runs over the seeds. Every mistake is one line (``ConfigError``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from experiments.config_checks import ConfigError, missing_option
from experiments.config_dir import CONFIG_DIR

RUNNER_KEYS = ("benchmark", "benchmark.budget", "search", "runs_dir", "out")
"""Arguments the runner takes itself; ``launcher``/``device`` overrides go to every run."""
PASSED_TO_RUNS = ("launcher", "device")


@dataclass(frozen=True)
class Study:
    """One task × optimizer: what its tuning sweep is given."""

    label: str
    """The optimizer's label in the report."""
    overrides: tuple[str, ...]
    """``optimizer=...`` and its fixed keywords."""
    family: str
    """The ``configs/search/`` file its trials are drawn from."""
    params: Mapping[str, str]
    """``key → Optuna sweeper syntax`` (``tag(log, interval(1e-4, 1e-1))``)."""
    candidate: bool = False


@dataclass(frozen=True)
class Task:
    label: str
    overrides: tuple[str, ...]
    """``task=...``, a validation split where the recipe has none, evaluation frequency, and
    the budget's own overrides (a smoke size)."""


@dataclass(frozen=True)
class Benchmark:
    name: str
    budget: str
    trials: int
    seeds: tuple[int, ...]
    sampler_seed: int
    baseline: str
    tasks: tuple[Task, ...]
    optimizers: tuple[Study, ...]
    run_overrides: tuple[str, ...] = ()
    """``launcher=...``/``device=...``: operational keys given to every run."""

    @property
    def sweep(self) -> str:
        """The sweep name of every run: one per benchmark and budget, so a rerun (and another
        candidate against the same baselines) finds the same run directories."""
        return f"benchmark/{self.name}/{self.budget}"


def search_space(family: str, config_dir: Path = CONFIG_DIR) -> dict[str, str]:
    """``configs/search/<family>.yaml``'s ``params`` as ``key → sweeper syntax``."""
    path = config_dir / "search" / f"{family}.yaml"
    if not path.is_file():
        raise ConfigError(missing_option(f"search/{family}", []))
    params = OmegaConf.to_container(OmegaConf.load(path)).get("params")
    if not isinstance(params, dict) or not params:
        raise ConfigError(f"{path}: `params` must map config keys to search ranges")
    return {str(key): str(value) for key, value in params.items()}


def _budget(spec: Mapping[str, Any], budget: str) -> tuple[str, int, tuple[int, ...]]:
    budgets = spec.get("budgets") or {}
    if budget in budgets:
        chosen = budgets[budget]
        return budget, int(chosen["trials"]), tuple(int(s) for s in chosen["seeds"])
    if budget.isdigit() and int(budget) > 0 and "default" in budgets:
        return f"trials{budget}", int(budget), tuple(int(s) for s in budgets["default"]["seeds"])
    names = " | ".join(budgets)
    raise ConfigError(
        f"benchmark.budget={budget} is not a budget of this benchmark: {names}, or a number of "
        "trials per optimizer and task"
    )


def _task(label: str, spec: Mapping[str, Any], budget: str) -> Task:
    extra = (spec.get("budgets") or {}).get(budget, [])
    return Task(label, tuple(str(o) for o in [*spec["overrides"], *extra]))


def _candidate(overrides: Sequence[str], family: str | None, config_dir: Path) -> Study:
    given = dict(o.split("=", 1) for o in overrides if "=" in o)
    preset = given.get("optimizer")
    if preset is None:
        raise ConfigError(
            "a candidate needs optimizer=<preset>, or optimizer=custom "
            "optimizer._target_=<module.Class> (without overrides: the baselines only)"
        )
    if not (config_dir / "optimizer" / f"{preset}.yaml").is_file():
        raise ConfigError(missing_option(f"optimizer/{preset}", []))
    if preset == "custom":
        target = given.get("optimizer._target_")
        if not target:
            raise ConfigError("optimizer=custom needs optimizer._target_=<module.Class>")
        label = target.rsplit(".", 1)[-1]
    else:
        label = preset
    if family is None:
        has_own = (config_dir / "search" / f"{preset}.yaml").is_file()
        family = preset if has_own else "custom"
    return Study(label, tuple(overrides), family, search_space(family, config_dir), True)


def load_benchmark(
    name: str,
    budget: str = "default",
    candidate: Sequence[str] = (),
    family: str | None = None,
    run_overrides: Sequence[str] = (),
    config_dir: Path = CONFIG_DIR,
) -> Benchmark:
    """The benchmark ``name`` (a ``configs/benchmark/`` file, or a path to a YAML file) at
    ``budget``, with the candidate ``candidate`` (Hydra overrides; none: the baselines only)."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else None
    path = path or config_dir / "benchmark" / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(missing_option(f"benchmark/{name}", []))
    spec = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    label, trials, seeds = _budget(spec, str(budget))
    tasks = tuple(_task(key, value, label) for key, value in spec["tasks"].items())
    optimizers = [
        Study(key, tuple(value["overrides"]), value["search"], search_space(value["search"]))
        for key, value in spec["optimizers"].items()
    ]
    if candidate:
        study = _candidate(candidate, family, config_dir)
        if study.label in {o.label for o in optimizers}:
            raise ConfigError(
                f"the candidate {study.label} is already a baseline of benchmark {spec['name']}"
            )
        optimizers.insert(0, study)
    baseline = str(spec["baseline"])
    if baseline not in {o.label for o in optimizers}:
        raise ConfigError(f"baseline {baseline} is not one of the benchmark's optimizers")
    return Benchmark(
        name=str(spec["name"]),
        budget=label,
        trials=trials,
        seeds=seeds,
        sampler_seed=int(spec.get("sampler_seed", 0)),
        baseline=baseline,
        tasks=tasks,
        optimizers=tuple(optimizers),
        run_overrides=tuple(run_overrides),
    )


def split_arguments(arguments: Sequence[str]) -> tuple[dict[str, str], list[str], list[str]]:
    """The command line → (runner keys, overrides for every run, the candidate's overrides)."""
    runner, runs, candidate = {}, [], []
    for argument in arguments:
        key, equals, value = argument.partition("=")
        if not equals:
            raise ConfigError(f"{argument}: arguments are key=value Hydra overrides")
        if key in RUNNER_KEYS:
            runner[key] = value
        elif key.split(".")[0] in PASSED_TO_RUNS:
            runs.append(argument)
        else:
            candidate.append(argument)
    return runner, runs, candidate
