"""``python -m scripts.sweep_plan +paper=radam/cifar10_sgd [overrides]``: a sweep, before launching.

Expands the sweep exactly as ``python -m experiments.train -m <the same overrides>`` would, and
calls no launcher: Hydra composes the master config in multirun mode, its BasicSweeper expands
``hydra.sweeper.params`` together with the command line's sweep syntax (``seed=1,2,3``), every
job's config is composed the way the launcher composes it (``load_sweep_config``), and its run
directory comes from ``experiments.runs.identity`` with that job's overrides and config-group
choices, as in the entry point. Each run is listed with what a launch would do with it: ``new``,
``resume`` (an unfinished run directory: killed, interrupted, failed or running now), ``skip``
(finished or diverged) or ``re-run`` (finished, with ``force=true``).

GPU-hours: each task config's header line ``# Estimated GPU-hours: ≈ A–B per run`` (or ``≈ A per
run``), for the recipe's budget on one GPU, scaled by the run's ``task.epochs`` over the recipe's;
a task without that line (``digits``: seconds on a CPU) has no estimate. Exit codes: 0 planned,
2 bad input.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra import initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from experiments.config_checks import CONFIG_DIR
from experiments.runs.identity import RunIdentity
from experiments.runs.store import FINAL_STATUSES, metrics_problem, read_json

ACTIONS = ("new", "resume", "skip", "re-run")
LAUNCHED = frozenset({"new", "resume", "re-run"})
_ESTIMATE = re.compile(
    r"Estimated GPU-hours:\s*≈?\s*(?P<low>[0-9.]+)(?:\s*[–-]\s*(?P<high>[0-9.]+))?\s*per run"
)
_BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"

Hours = tuple[float, float]


@dataclass(frozen=True)
class PlannedRun:
    """One job of the sweep: its run directory and what a launch would do with it."""

    path: Path
    task: str
    optimizer: str
    seed: int
    overrides: dict[str, str]
    action: str
    status: str | None
    gpu_hours: Hours | None
    problem: str | None = None
    """What is wrong with a finished run's ``metrics.jsonl`` (its record is damaged), or None."""


@dataclass(frozen=True)
class SweepPlan:
    sweep: str
    runs_dir: Path
    launcher: str
    max_steps: int | None
    runs: list[PlannedRun]
    hours_per_run: dict[str, Hours | None]
    """Per task: the (low, high) GPU-hours of one run of its recipe, or None when not given."""

    def count(self, *actions: str) -> int:
        return sum(run.action in actions for run in self.runs)

    def gpu_hours(self, actions: Iterable[str] = ACTIONS) -> Hours:
        """(low, high) summed over the runs with these actions; runs without an estimate add 0."""
        wanted = set(actions)
        low = high = 0.0
        for run in self.runs:
            if run.action in wanted and run.gpu_hours is not None:
                low, high = low + run.gpu_hours[0], high + run.gpu_hours[1]
        return low, high


def gpu_hours_per_run(task: str, config_dir: Path = CONFIG_DIR) -> Hours | None:
    """The task config's ``Estimated GPU-hours: ≈ A–B per run`` header line, as (A, B)."""
    return _recipe(task, Path(config_dir))[0]


@functools.lru_cache(maxsize=64)
def _recipe(task: str, config_dir: Path) -> tuple[Hours | None, int | None]:
    """The task config's GPU-hours estimate and its ``task.epochs``."""
    path = config_dir / "task" / f"{task}.yaml"
    try:
        text = path.read_text()
    except OSError:
        return None, None
    epochs = (OmegaConf.load(path).get("task") or {}).get("epochs")
    header = " ".join(line.lstrip("#") for line in text.splitlines() if line.startswith("#"))
    found = _ESTIMATE.search(" ".join(header.split()))
    if found is None:
        return None, epochs
    low = float(found["low"])
    return (low, float(found["high"] or low)), epochs


def _run_hours(cfg: DictConfig, task: str, config_dir: Path) -> Hours | None:
    """The recipe's estimate scaled by this run's epochs over the recipe's (``task.epochs=120``
    costs 120/50 of a 50-epoch recipe)."""
    hours, recipe_epochs = _recipe(task, Path(config_dir))
    if hours is None:
        return None
    epochs = cfg.task.get("epochs")
    scale = epochs / recipe_epochs if recipe_epochs and epochs else 1.0
    return hours[0] * scale, hours[1] * scale


def format_hours(hours: Hours) -> str:
    """``1.2–2.4`` (three significant digits), or one number when low equals high."""

    def number(value: float) -> str:
        return f"{value:.3g}" if value < 1000 else f"{value:.0f}"

    low, high = hours
    return number(low) if number(low) == number(high) else f"{number(low)}–{number(high)}"


def _action(path: Path, force: bool) -> tuple[str, str | None]:
    summary = read_json(path / "summary.json")
    status = summary.get("status") if summary else None
    if status in FINAL_STATUSES:
        return ("re-run" if force else "skip"), status
    if status is not None or (path / "config.yaml").exists():
        return "resume", status
    return "new", None


def _job_overrides(master: DictConfig, config_loader: Any) -> list[list[str]]:
    """The jobs' override lists, as BasicSweeper.sweep builds them: the sweeper's params first,
    then the command line's task overrides (a key given in both takes the command line's)."""
    sweeper = master.hydra.sweeper
    if sweeper.get("_target_") != _BASIC_SWEEPER:
        raise HydraException(f"hydra.sweeper is {sweeper.get('_target_')}: only Hydra's basic")
    params = OmegaConf.to_container(sweeper.params, resolve=False) if sweeper.params else {}
    arguments = [f"{key}={value}" for key, value in params.items()]
    arguments += list(master.hydra.overrides.task)
    parsed = OverridesParser.create(config_loader=config_loader).parse_overrides(arguments)
    batches = BasicSweeper.split_arguments(parsed, sweeper.get("max_batch_size"))
    return [list(job) for batch in batches for job in batch]


class SweepExpansion:
    """The master config and the jobs of a sweep; ``plan(job)`` composes one job (≈ 0.1 s)."""

    def __init__(self, config_loader: Any, master: DictConfig, config_dir: Path) -> None:
        self._config_loader = config_loader
        self.master = master
        self.config_dir = Path(config_dir)
        self.jobs = _job_overrides(master, config_loader)

    def plan(self, job: Sequence[str]) -> PlannedRun:
        """The run of one job, composed the way the launcher composes it and named the way
        ``experiments.runs.prepare`` names it."""
        job_cfg = self._config_loader.load_sweep_config(self.master, list(job))
        HydraConfig.instance().set_config(job_cfg)
        overrides = list(job_cfg.hydra.overrides.task)
        choices = dict(job_cfg.hydra.runtime.choices)
        cfg = OmegaConf.create(OmegaConf.to_container(job_cfg, resolve=False))
        with read_write(cfg), open_dict(cfg):
            del cfg["hydra"]
        identity = RunIdentity.of(cfg, overrides, choices)
        action, status = _action(identity.path, bool(cfg.force))
        return PlannedRun(
            path=identity.path,
            task=identity.task,
            optimizer=identity.optimizer,
            seed=int(cfg.seed),
            overrides=identity.overrides,
            action=action,
            status=status,
            gpu_hours=_run_hours(cfg, identity.task, self.config_dir),
            problem=metrics_problem(identity.path / "metrics.jsonl") if action == "skip" else None,
        )


@contextmanager
def sweep_expansion(
    overrides: Sequence[str], config_dir: Path = CONFIG_DIR
) -> Iterator[SweepExpansion]:
    """Hydra initialized on ``config_dir`` with the master config of
    ``python -m experiments.train -m <overrides>``, composed in multirun mode as Hydra does.
    Raises ``hydra.errors.HydraException`` (and its subclasses) on a bad override."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3", job_name="train"):
        config_loader = GlobalHydra.instance().config_loader()
        master = config_loader.load_configuration(
            config_name="train", overrides=list(overrides), run_mode=RunMode.MULTIRUN
        )
        yield SweepExpansion(config_loader, master, config_dir)


def plan_sweep(overrides: Sequence[str], config_dir: Path = CONFIG_DIR) -> SweepPlan:
    """Every run of the sweep of ``python -m experiments.train -m <overrides>``; launches
    nothing."""
    with sweep_expansion(overrides, config_dir) as expansion:
        runs = [expansion.plan(job) for job in expansion.jobs]
        master = expansion.master
    return SweepPlan(
        sweep=str(master.sweep),
        runs_dir=Path(str(master.runs_dir)),
        launcher=str(master.hydra.runtime.choices.get("hydra/launcher")),
        max_steps=master.max_steps,
        runs=runs,
        hours_per_run={t: gpu_hours_per_run(t, config_dir) for t in sorted({r.task for r in runs})},
    )


def describe(plan: SweepPlan, overrides: Sequence[str]) -> str:
    """The listing ``main`` prints: one line per run, then the totals and the estimate."""
    root = plan.runs_dir / plan.sweep.replace("/", "_")
    lines = [f"sweep {plan.sweep} -> {root} (hydra/launcher: {plan.launcher})"]
    for run in plan.runs:
        status = f" ({run.status})" if run.action == "resume" and run.status else ""
        if run.problem:
            status = f" (finished, but metrics.jsonl {run.problem}: force=true re-runs it)"
        lines.append(f"  {run.action:<7} {run.path.relative_to(root)}{status}")
    lines.append(
        f"{len(plan.runs)} runs: {plan.count(*LAUNCHED)} to launch ({plan.count('new')} new, "
        f"{plan.count('resume')} to resume, {plan.count('re-run')} to re-run), "
        f"{plan.count('skip')} finished to skip"
    )
    estimated = {task: hours for task, hours in plan.hours_per_run.items() if hours is not None}
    if estimated:
        per_task = "; ".join(
            f"{task}: {format_hours(h)} per recipe run" for task, h in estimated.items()
        )
        cap = " (max_steps caps the runs: an upper bound)" if plan.max_steps is not None else ""
        lines.append(
            f"estimated GPU-hours: {format_hours(plan.gpu_hours(LAUNCHED))} to launch, "
            f"{format_hours(plan.gpu_hours())} for the whole sweep{cap} ({per_task})"
        )
    unestimated = sorted(task for task, hours in plan.hours_per_run.items() if hours is None)
    if unestimated:
        lines.append(f"no GPU-hours estimate in the task config of: {', '.join(unestimated)}")
    lines.append("launch: python -m experiments.train -m " + " ".join(overrides))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = [
        a for a in (sys.argv[1:] if argv is None else argv) if a not in ("-m", "--multirun")
    ]
    if any(a in ("-h", "--help") for a in arguments):
        print(__doc__)
        return 0
    try:
        plan = plan_sweep(arguments)
    except HydraException as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2
    print(describe(plan, arguments))
    return 0


if __name__ == "__main__":
    sys.exit(main())
