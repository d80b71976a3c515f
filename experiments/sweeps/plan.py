"""What a sweep would do, before launching: ``python -m scripts.sweep_plan <sweep overrides>``.

The plan comes from the same expansion a launch uses: Hydra's multirun runs with the sweep's own
sweeper, and the suite's launcher, in planning mode, composes and checks the batch it is handed
and launches nothing. Each run is listed with what a launch would do with it
(``RunDirectory.launch_action``: ``new``, ``resume``, ``skip``, ``re-run``) or why it would be
refused (missing data, a bad value). A sweeper that decides as it goes (a tuner) is planned for
its first batch.

GPU-hours: each task config's header line ``# Estimated GPU-hours: ≈ A–B per run`` (or ``≈ A per
run``), for the recipe's budget on one GPU, scaled by the run's ``task.epochs`` over the recipe's;
a task without that line (``digits``: seconds on a CPU) has no estimate.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from experiments.config_checks import CONFIG_DIR, ConfigError
from experiments.runs.store import RunDirectory, metrics_problem
from experiments.sweeps import batch
from experiments.sweeps.expansion import Job, is_tuner
from experiments.sweeps.precheck import hydra_arguments

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
    refused: str | None = None
    """Why a launch would refuse the run (bad input, missing data), or None."""


@dataclass(frozen=True)
class SweepPlan:
    sweep: str
    runs_dir: Path
    launcher: str
    max_steps: int | None
    runs: list[PlannedRun]
    hours_per_run: dict[str, Hours | None]
    tuner: str | None = None
    """The sweeper's class when it decides as it goes (then ``runs`` is its first batch)."""
    trials: int | None = None
    """A tuner's ``n_trials``."""
    """Per task: the (low, high) GPU-hours of one run of its recipe, or None when not given."""

    def count(self, *actions: str) -> int:
        """Runs a launch would start with one of ``actions`` (refused runs never start)."""
        return sum(run.action in actions and not run.refused for run in self.runs)

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


def plan_job(job: Job, config_dir: Path, refused: str | None = None) -> PlannedRun:
    """What a launch would do with one job of the sweep."""
    action, status = RunDirectory(job.identity.path).launch_action(bool(job.cfg.force))
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
        refused=refused,
    )


def plan_sweep(arguments: Sequence[str]) -> SweepPlan:
    """The runs of ``python -m experiments.train -m <arguments>``, from Hydra's own sweeper and
    the suite's launcher composing and checking its first batch (for a grid: every job), with
    nothing launched. ``HydraException`` or ``ConfigError`` on a bad command line."""
    overrides, config_dir, config_name = hydra_arguments(arguments)
    GlobalHydra.instance().clear()
    batch.planning = True
    try:
        with initialize_config_dir(
            config_dir=str(config_dir), version_base="1.3", job_name="train"
        ):
            hydra = GlobalHydra.instance().hydra
            assert hydra is not None
            master = hydra.compose_config(config_name, overrides, run_mode=RunMode.MULTIRUN)
            try:
                hydra.multirun(config_name, lambda cfg: None, overrides, False)
                checked: list[batch.Checked] = []
            except batch.PlanReady as ready:
                checked = ready.checked
    finally:
        batch.planning = False
        GlobalHydra.instance().clear()
    runs = []
    for entry in checked:
        if entry.job is None:
            raise ConfigError(f"{entry.name}: {entry.problem}")
        runs.append(plan_job(entry.job, config_dir, entry.problem))
    tuner = str(master.hydra.sweeper._target_).rsplit(".", 1)[-1] if is_tuner(master) else None
    return SweepPlan(
        sweep=str(master.sweep),
        runs_dir=Path(str(master.runs_dir)),
        launcher=str(master.launcher.name),
        max_steps=master.max_steps,
        runs=runs,
        hours_per_run={t: gpu_hours_per_run(t, config_dir) for t in sorted({r.task for r in runs})},
        tuner=tuner,
        trials=master.hydra.sweeper.get("n_trials") if tuner else None,
    )


def describe(plan: SweepPlan, overrides: Sequence[str]) -> str:
    """The listing ``main`` prints: one line per run, then the totals and the estimate."""
    root = plan.runs_dir / plan.sweep.replace("/", "_")
    lines = [f"sweep {plan.sweep} -> {root} (launcher={plan.launcher})"]
    if plan.tuner is not None:
        lines.append(
            f"{plan.tuner} decides as it goes: its first batch of {len(plan.runs)} is planned "
            f"(hydra.sweeper.n_trials={plan.trials} in all)"
        )
    for run in plan.runs:
        status = f" ({run.status})" if run.action == "resume" and run.status else ""
        if run.problem:
            status = f" (finished, but metrics.jsonl {run.problem}: force=true re-runs it)"
        action = "refused" if run.refused else run.action
        lines.append(f"  {action:<7} {run.path.relative_to(root)}{status}")
    reasons = sorted({run.refused for run in plan.runs if run.refused})
    for reason in reasons:
        count = sum(run.refused == reason for run in plan.runs)
        lines.append(f"refused ({count} runs): {reason}")
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
