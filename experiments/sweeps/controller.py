"""``python -m experiments.train -m <overrides>``: a sweep that says what happened.

1. The jobs are expanded as Hydra expands them (``expansion``); a bad override (a typo in a key
   or a config group option) is one line, exit 2.
2. Every job's config is checked before any run starts (run-level keys, the recipe's counts,
   the optimizer's keywords and values, a run directory inside ``runs_dir``): a bad value is one
   line naming the job, exit 2, nothing written.
3. Finished runs are skipped here, without starting a process (``force=true`` re-runs them).
4. The rest are launched (``launcher=local``: a process per run, at most as many at a time as
   the cores allow for the threads each run uses, ``launcher.max_parallel`` to change it;
   ``inline``: in this process; ``slurm``: one job array, ``launcher.wait=false`` to return
   after submitting), with a line per run as it ends and a closing report; the exit code is 0
   when every run finished or diverged, 1 when one failed or was interrupted, 2 when one was
   refused (``experiments.sweeps.report``).
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

import torch
from hydra.errors import HydraException
from omegaconf import OmegaConf

from experiments.assembly import build_optimizer, task_builder
from experiments.config_checks import (
    CONFIG_DIR,
    ConfigError,
    check_run_keys,
    check_writable,
    composition_error,
    resolve_device,
)
from experiments.loop_options import LoopOptions
from experiments.runs.store import RunDirectory
from experiments.sweeps import launchers
from experiments.sweeps.expansion import Job, sweep_expansion
from experiments.sweeps.report import SweepReport

LAUNCHERS = ("local", "inline", "slurm")


def check_job(job: Job) -> None:
    """What can be checked of a job without building its task: ConfigError on bad input."""
    check_run_keys(job.cfg)
    resolve_device(job.cfg.device)
    task_builder(job.cfg.task.build)
    LoopOptions.from_task_config(job.cfg.task)
    build_optimizer(job.cfg, torch.nn.Linear(1, 1))  # unknown keywords, wrong types


def error(line: str) -> int:
    print(f"error: {line}", file=sys.stderr, flush=True)
    return 2


def run_sweep(arguments: list[str], config_dir: Path = CONFIG_DIR) -> int:
    overrides = [a for a in arguments if a not in ("-m", "--multirun")]
    try:
        with sweep_expansion(overrides, config_dir) as expansion:
            master = expansion.master
            check_writable(str(master.runs_dir))
            jobs, problems = [], []
            for job_overrides in expansion.jobs:
                job, named = None, " ".join(job_overrides)
                try:
                    job = expansion.job(job_overrides)
                    named = job.identity.name
                    check_job(job)
                    jobs.append(job)
                except ConfigError as problem:
                    problems.append(f"{named}: {problem}")
            launcher = str(master.launcher.name)
            settings: dict[str, Any] = OmegaConf.to_container(master.launcher, resolve=True)
            params: dict[str, Any] = OmegaConf.to_container(master.hydra.launcher, resolve=True)
            sweep, runs_dir = str(master.sweep), Path(str(master.runs_dir))
    except HydraException as failure:
        return error(composition_error(failure, overrides))
    except ConfigError as failure:
        return error(str(failure))
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"error: {len(problems)} of {len(problems) + len(jobs)} runs refused: nothing was "
              "launched", file=sys.stderr)  # fmt: skip
        return 2
    if launcher not in LAUNCHERS:
        return error(f"launcher={launcher!r} is invalid: one of {', '.join(LAUNCHERS)}")

    sweep_dir = runs_dir / sweep.replace("/", "_")
    finished = [job for job in jobs if not job.cfg.force and _is_final(job)]
    to_launch = [job for job in jobs if job not in finished]
    report = SweepReport(sweep_dir, len(to_launch))
    how = launcher
    if launcher == "local":
        cap, threads = launchers.default_parallelism(params.get("cpus_per_task"))
        cap = int(settings.get("max_parallel") or cap)
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        how = (f"local, {cap} at a time ({threads} thread(s) per run; "
               "launcher.max_parallel=N to change)")  # fmt: skip
    report.say(f"sweep {sweep} -> {sweep_dir}: {len(jobs)} runs, {len(to_launch)} to launch "
               f"({how})")  # fmt: skip
    report.skip(finished)
    if not to_launch:
        return report.close()
    folder = sweep_dir / ".submitit"
    if launcher == "inline":
        launchers.launch_inline(to_launch, config_dir, report)
    elif launcher == "local":
        folder.mkdir(parents=True, exist_ok=True)
        launchers.launch_local(to_launch, config_dir, params, folder, cap, report)
    else:
        folder.mkdir(parents=True, exist_ok=True)
        wait = bool(settings.get("wait", True))
        launchers.launch_slurm(to_launch, config_dir, params, folder, wait, report)
        if not wait:
            later = "python -m scripts.sweep_plan " + shlex.join(overrides)
            return report.close(report_command=later)
    return report.close()


def _is_final(job: Job) -> bool:
    return RunDirectory(job.identity.path).is_final()
