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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf

from experiments.config_checks import CONFIG_DIR
from experiments.runs.store import FINAL_STATUSES, metrics_problem, read_json
from experiments.sweeps.expansion import Job, sweep_expansion

ACTIONS = ("new", "resume", "skip", "re-run")
LAUNCHED = frozenset({"new", "resume", "re-run"})
_ESTIMATE = re.compile(
    r"Estimated GPU-hours:\s*≈?\s*(?P<low>[0-9.]+)(?:\s*[–-]\s*(?P<high>[0-9.]+))?\s*per run"
)

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
def _recipe(task: str, config_dir: Path) -> tuple[Hours | None, dict[str, int | None]]:
    """The task config's GPU-hours estimate and its budget (``task.epochs``,
    ``task.max_updates``)."""
    path = config_dir / "task" / f"{task}.yaml"
    try:
        text = path.read_text()
    except OSError:
        return None, {}
    recipe = OmegaConf.load(path).get("task") or {}
    budget = {key: recipe.get(key) for key in BUDGET_KEYS}
    header = " ".join(line.lstrip("#") for line in text.splitlines() if line.startswith("#"))
    found = _ESTIMATE.search(" ".join(header.split()))
    if found is None:
        return None, budget
    low = float(found["low"])
    return (low, float(found["high"] or low)), budget


BUDGET_KEYS = ("epochs", "max_updates")


def _run_hours(cfg: DictConfig, task: str, config_dir: Path) -> Hours | None:
    """The recipe's estimate scaled by this run's budget over the recipe's (``task.epochs=120``
    costs 120/50 of a 50-epoch recipe; ``task.max_updates=72000`` 72/70 of a 70k recipe)."""
    hours, budget = _recipe(task, Path(config_dir))
    if hours is None:
        return None
    scale = 1.0
    for key in BUDGET_KEYS:
        ours, recipe = cfg.task.get(key), budget.get(key)
        if ours and recipe:
            scale *= ours / recipe
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


def plan_job(job: Job, config_dir: Path) -> PlannedRun:
    """What a launch would do with one job of the sweep."""
    action, status = _action(job.identity.path, bool(job.cfg.force))
    return PlannedRun(
        path=job.identity.path,
        task=job.identity.task,
        optimizer=job.identity.optimizer,
        seed=int(job.cfg.seed),
        overrides=job.identity.overrides,
        action=action,
        status=status,
        gpu_hours=_run_hours(job.cfg, job.identity.task, config_dir),
        problem=metrics_problem(job.identity.path / "metrics.jsonl") if action == "skip" else None,
    )


def plan_sweep(overrides: Sequence[str], config_dir: Path = CONFIG_DIR) -> SweepPlan:
    """Every run of the sweep of ``python -m experiments.train -m <overrides>``; launches
    nothing."""
    with sweep_expansion(overrides, config_dir) as expansion:
        runs = [plan_job(expansion.job(job), config_dir) for job in expansion.jobs]
        master = expansion.master
    return SweepPlan(
        sweep=str(master.sweep),
        runs_dir=Path(str(master.runs_dir)),
        launcher=str(master.launcher.name),
        max_steps=master.max_steps,
        runs=runs,
        hours_per_run={t: gpu_hours_per_run(t, config_dir) for t in sorted({r.task for r in runs})},
    )


def describe(plan: SweepPlan, overrides: Sequence[str]) -> str:
    """The listing ``main`` prints: one line per run, then the totals and the estimate."""
    root = plan.runs_dir / plan.sweep.replace("/", "_")
    lines = [f"sweep {plan.sweep} -> {root} (launcher={plan.launcher})"]
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
