"""One batch of a sweep, as Hydra's sweeper hands it to the suite's launcher: every job composed
and checked before any run starts (bad jobs: one line each, exit 2, nothing launched), finished
runs skipped without a process with the objective they recorded, the rest launched
(``launchers``), each job's objective returned (``objective``). See ``docs/architecture.md``
("Sweeps")."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf

from experiments.config_checks import ConfigError, check_writable, composition_error
from experiments.runs.store import RunDirectory
from experiments.sweeps import launchers, session
from experiments.sweeps.checks import check_job
from experiments.sweeps.expansion import Job, compose_job, is_tuner
from experiments.sweeps.objective import run_objective


@dataclass
class Checked:
    """A job of a batch as composed and checked: the job (None when it does not compose), its
    name, and why it cannot run (None when it can)."""

    job: Job | None
    name: str
    problem: str | None


def compose_batch(
    config_loader: Any, master: DictConfig, job_overrides: Sequence[Sequence[str]]
) -> list[Checked]:
    tuning = is_tuner(master)
    checked = []
    for overrides in job_overrides:
        job, named, problem = None, " ".join(overrides), None
        try:
            job = compose_job(config_loader, master, overrides)
            named = job.identity.name
            check_job(job, tuning)
        except ConfigError as error:
            problem = str(error)
        except HydraException as error:
            problem = composition_error(error, list(overrides))
        checked.append(Checked(job, named, problem))
    return checked


class PlanReady(Exception):
    """Raised by a batch launched in planning mode, with the batch's checked jobs: nothing runs
    (``experiments.sweeps.plan``)."""

    def __init__(self, checked: list[Checked]) -> None:
        super().__init__(f"{len(checked)} jobs planned")
        self.checked = checked


planning = False
"""Set by ``experiments.sweeps.plan``: the next batch is composed and checked, not launched."""


def refuse(problems: list[tuple[str, str]], total: int) -> None:
    """One line per bad job, or one line for a reason many jobs share; nothing is launched."""
    reasons = Counter(reason for _, reason in problems)
    for reason, count in reasons.items():
        if count == 1:
            name = next(name for name, why in problems if why == reason)
            print(f"error: {name}: {reason}", file=sys.stderr)
        else:
            print(f"error: {count} runs: {reason}", file=sys.stderr)
    print(f"error: {len(problems)} of {total} runs refused: nothing was launched", file=sys.stderr)


def launch_batch(
    kind: str,
    params: dict[str, Any],
    config_loader: Any,
    master: DictConfig,
    job_overrides: Sequence[Sequence[str]],
) -> list[float | None]:
    """Run one batch (see the module docstring); the objective of each job, in order."""
    if planning:
        raise PlanReady(compose_batch(config_loader, master, job_overrides))
    sweep = str(master.sweep)
    sweep_dir = Path(str(master.runs_dir)) / sweep.replace("/", "_")
    current = session.start(sweep, sweep_dir)
    try:
        check_writable(str(master.runs_dir))
    except ConfigError as problem:
        current.refused = True
        print(f"error: {problem}", file=sys.stderr)
        raise SystemExit(2) from None
    checked = compose_batch(config_loader, master, job_overrides)
    problems = [(entry.name, entry.problem) for entry in checked if entry.problem is not None]
    jobs = [entry.job for entry in checked if entry.job is not None]
    if problems:
        current.refused = True
        refuse(problems, len(job_overrides))
        _remove_lone_sweep_record(sweep_dir)
        raise SystemExit(2)
    report = current.report
    finished = [job for job in jobs if _action(job) == "skip"]
    to_launch = [job for job in jobs if job not in finished]
    settings: dict[str, Any] = OmegaConf.to_container(master.launcher, resolve=True)
    how, cap = kind, 1
    if kind == "local":
        cap, threads = launchers.default_parallelism(params.get("cpus_per_task"))
        cap = int(settings.get("max_parallel") or cap)
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        how = (f"local, {cap} at a time ({threads} thread(s) per run; "
               "launcher.max_parallel=N to change)")  # fmt: skip
    report.add_batch(len(to_launch))
    report.say(f"sweep {sweep} -> {sweep_dir}: {len(jobs)} runs, {len(to_launch)} to launch "
               f"({how})")  # fmt: skip
    report.skip(finished)
    folder = sweep_dir / ".submitit"
    if to_launch and kind == "inline":
        launchers.launch_inline(to_launch, report)
    elif to_launch and kind == "local":
        folder.mkdir(parents=True, exist_ok=True)
        launchers.launch_local(to_launch, params, folder, cap, report)
    elif to_launch:
        folder.mkdir(parents=True, exist_ok=True)
        wait = bool(settings.get("wait", True))
        launchers.launch_slurm(to_launch, params, folder, wait, report)
        if not wait:
            overrides = [o for o in master.hydra.overrides.task]
            current.later = "python -m scripts.sweep_plan " + " ".join(overrides)
    return [run_objective(RunDirectory(job.identity.path).summary()) for job in jobs]


def _action(job: Job) -> str:
    return RunDirectory(job.identity.path).launch_action(bool(job.cfg.force))[0]


def _remove_lone_sweep_record(sweep_dir: Path) -> None:
    """A refused sweep leaves nothing: Hydra's sweeper wrote ``multirun.yaml`` into the sweep's
    folder before handing over the batch; remove it when nothing else is there."""
    record = sweep_dir / "multirun.yaml"
    if record.is_file() and [p.name for p in sweep_dir.iterdir()] == ["multirun.yaml"]:
        record.unlink()
        sweep_dir.rmdir()
