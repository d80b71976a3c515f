"""Run a benchmark: per task × optimizer one tuning study through Hydra's Optuna sweeper, then the
best trial's setting over the seeds; then the manifest and the report.

Each study is ``experiments.train -m`` with ``hydra/sweeper=optuna``, the random sampler
(optuna 2.10, which the Hydra plugin pins, has no quasi-random one) with the benchmark's sampler
seed, ``n_trials`` = the budget and the family's search space — one study per optimizer, never
the optimizer as a categorical choice. Every trial is a normal run directory launched by the
suite's launcher, so a second invocation replays finished trials from their records (the same
trials: the seeded sampler proposes the same points) and resumes unfinished ones. The seeds
sweep then reuses the trial's own directory for seed 1.

The sweeps run in this process (``experiments.cli.run_sweep``, what ``-m`` calls): a separate
``python -m experiments.train -m`` per study pays torch's and Hydra's start-up (≈ 8 s on 2 busy
cores) 30 times over, more than the whole smoke budget. The default launcher is ``inline`` (one
run at a time, so training seconds are comparable); ``launcher=local`` or ``launcher=slurm``
are passed to every sweep. The runs' own output goes to ``benchmark.log`` in the sweep folder;
the terminal gets one line per study.

The manifest ``<runs_dir>/benchmark_<name>_<budget>/benchmark.json`` records the definition,
each study's trials and seed runs (run names, relative to runs_dir), the wall time and the
machine: what ``experiments.report.benchmark_report`` (and ``make tables``) renders.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from experiments.benchmark.definition import Benchmark, Study, Task
from experiments.metric_direction import metric_mode
from experiments.runs.store import read_json
from experiments.sweeps import session
from experiments.sweeps.objective import objective_metric, run_objective

MANIFEST = "benchmark.json"
DEFAULT_LAUNCHER = "launcher=inline"


def sweep_folder(bench: Benchmark, runs_dir: Path) -> Path:
    """Where Hydra's sweep output, the log and the manifest go (beside the run directories)."""
    return runs_dir / bench.sweep.replace("/", "_")


def _common(bench: Benchmark, task: Task, study: Study, runs_dir: Path) -> list[str]:
    given = any(o.startswith("launcher=") for o in bench.run_overrides)
    launcher = [] if given else [DEFAULT_LAUNCHER]
    return [
        *task.overrides,
        *study.overrides,
        *launcher,
        *bench.run_overrides,
        f"sweep={bench.sweep}",
        f"runs_dir={runs_dir}",
    ]


def study_arguments(bench: Benchmark, task: Task, study: Study, runs_dir: Path) -> list[str]:
    """The ``-m`` command line of one tuning study."""
    return [
        "-m",
        "hydra/sweeper=optuna",
        "hydra/sweeper/sampler=random",
        f"hydra.sweeper.sampler.seed={bench.sampler_seed}",
        f"hydra.sweeper.n_trials={bench.trials}",
        *(f"{key}={space}" for key, space in study.params.items()),
        *_common(bench, task, study, runs_dir),
    ]


def seed_arguments(
    bench: Benchmark, task: Task, study: Study, setting: dict[str, str], runs_dir: Path
) -> list[str]:
    """The ``-m`` command line running the chosen setting over the benchmark's seeds."""
    return [
        "-m",
        *(f"{key}={setting[key.lstrip('+')]}" for key in study.params),
        *_common(bench, task, study, runs_dir),
        "seed=" + ",".join(str(seed) for seed in bench.seeds),
    ]


def run_sweep_quietly(arguments: list[str], log: Path) -> tuple[int, list[Path] | None]:
    """One ``-m`` sweep in this process, its output appended to ``log``; the exit code and the
    run directories of its jobs (launched and skipped), in launch order. The benchmark stops
    (no directories) when the sweep was refused (2) or stopped by Ctrl-C or a signal (1)."""
    from experiments.cli import run_sweep

    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as stream, contextlib.redirect_stdout(stream):
        print(f"$ python -m experiments.train {' '.join(arguments)}", flush=True)
        code = run_sweep(arguments)
    report = session.current.report if session.current is not None else None
    if code == 2 or report is None or report.stopped:
        return code or 1, None
    jobs = [*report.skipped, *(outcome.job for outcome in report.outcomes)]
    return code, [Path(job.identity.path) for job in jobs]


def _summary(run_dir: Path) -> dict[str, Any] | None:
    return read_json(run_dir / "summary.json")


def best_trial(trials: Sequence[Path]) -> tuple[Path, float] | None:
    """The trial with the best objective (the task's validation headline, its direction); ties
    go to the first in name order, so the choice does not depend on launch order."""
    scored = []
    for trial in sorted(trials):
        summary = _summary(trial)
        value = run_objective(summary)
        if value is not None and math.isfinite(value):
            sign = -1.0 if metric_mode(summary["headline"]["metric"]) == "max" else 1.0
            scored.append((sign * value, str(trial), trial, value))
    if not scored:
        return None
    _, _, trial, value = min(scored)
    return trial, value


def lacks_validation(trials: Sequence[Path]) -> str | None:
    """The validation metric finished trials never evaluated (their task has no validation
    split: CIFAR's recipes select on test unless given ``task.val_size``), else None."""
    for trial in trials:
        summary = _summary(trial)
        if summary and summary.get("status") == "finished":
            metric = objective_metric(summary["headline"]["metric"])
            if metric not in (summary.get("best") or {}):
                return metric
    return None


def _machine() -> dict[str, Any]:
    import torch

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def run_benchmark(
    bench: Benchmark, runs_dir: Path, command: str = "", say: Callable[[str], None] = print
) -> tuple[int, Path | None]:
    """Every study and its seeds; the exit code (0; 2 when a sweep was refused, 1 stopped) and
    the manifest (None when refused or stopped), rewritten after each study so that a stopped
    benchmark's finished studies can be reported. ``command`` is recorded as the way to rerun
    it."""
    runs_dir = Path(runs_dir).resolve()
    folder = sweep_folder(bench, runs_dir)
    log = folder / "benchmark.log"
    began, studies, manifest = time.monotonic(), [], folder / MANIFEST
    pairs = [(task, study) for task in bench.tasks for study in bench.optimizers]
    say(
        f"benchmark {bench.name} ({bench.budget}): {len(bench.tasks)} tasks × "
        f"{len(bench.optimizers)} optimizers, {bench.trials} trials each, seeds "
        f"{list(bench.seeds)}; runs in {folder}, their output in {log}"
    )
    for index, (task, study) in enumerate(pairs, 1):
        started = time.monotonic()
        code, trials = run_sweep_quietly(study_arguments(bench, task, study, runs_dir), log)
        if trials is None:
            say(f"benchmark stopped: the study {task.label} × {study.label} (see {log})")
            return code, None
        chosen = best_trial(trials)
        if chosen is None and (unvalidated := lacks_validation(trials)):
            say(
                f"error: {task.label} evaluates no validation split ({unvalidated} missing from "
                "its runs): a benchmarked task selects on validation; give it one in the "
                "benchmark's task overrides (CIFAR-10: task.val_size=5000)"
            )
            return 2, None
        record = {"task": task.label, "optimizer": study.label, "trials": [], "seed_runs": []}
        record["trials"] = [str(t.relative_to(runs_dir)) for t in trials]
        if chosen is None:
            say(f"[{index}/{len(pairs)}] {task.label} × {study.label}: no trial finished")
            studies.append({**record, "best": None})
            manifest.write_text(json.dumps(_manifest(bench, studies, began, command), indent=1))
            continue
        trial, value = chosen
        setting = {k: str(v) for k, v in (_summary(trial) or {}).get("overrides", {}).items()}
        tuned = {key.lstrip("+"): setting[key.lstrip("+")] for key in study.params}
        code, seed_runs = run_sweep_quietly(
            seed_arguments(bench, task, study, setting, runs_dir), log
        )
        if seed_runs is None:
            say(f"benchmark stopped: the seeds of {task.label} × {study.label} (see {log})")
            return code, None
        record.update(
            best={"run": str(trial.relative_to(runs_dir)), "objective": value, "setting": tuned},
            seed_runs=[str(r.relative_to(runs_dir)) for r in seed_runs],
        )
        studies.append(record)
        manifest.write_text(json.dumps(_manifest(bench, studies, began, command), indent=1))
        shown = ", ".join(f"{k}={float(v):.3g}" for k, v in tuned.items())
        say(
            f"[{index}/{len(pairs)}] {task.label} × {study.label}: best of {len(trials)} trials "
            f"{value:.4g} at {shown}; {len(seed_runs)} seeds ({time.monotonic() - started:.0f} s)"
        )
    return 0, manifest


def _manifest(bench: Benchmark, studies: list[dict], began: float, command: str) -> dict[str, Any]:
    return {
        "name": bench.name,
        "budget": {"name": bench.budget, "trials": bench.trials, "seeds": list(bench.seeds)},
        "sampler": {"name": "optuna.samplers.RandomSampler", "seed": bench.sampler_seed},
        "baseline": bench.baseline,
        "tasks": [{"label": t.label, "overrides": list(t.overrides)} for t in bench.tasks],
        "optimizers": [
            {
                "label": o.label,
                "overrides": list(o.overrides),
                "search": o.family,
                "params": dict(o.params),
                "candidate": o.candidate,
            }
            for o in bench.optimizers
        ],
        "run_overrides": list(bench.run_overrides),
        "studies": studies,
        "wall_s": round(time.monotonic() - began, 1),
        "machine": _machine(),
        "command": command,
    }
