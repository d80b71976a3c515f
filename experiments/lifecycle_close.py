"""Closing a run: ``summary.json``, the checkpoint and snapshots ``keep_checkpoint`` keeps
(``drop_resume_files``), the last line; and what a run that failed says
(``describe_failure``).

``summary.json`` records the time-to-target (``target``) and whether the run shared the machine
(``concurrent_runs``): training seconds are comparable only between runs that ran alone, so
reports use seconds only from those (updates from every run).
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

from omegaconf import DictConfig

from experiments.distributed import World
from experiments.loop_state import LoopState
from experiments.runs import snapshots
from experiments.runs.meta import peak_memory_bytes
from experiments.runs.prepare import PreparedRun
from experiments.runs.recorder import Recorder
from experiments.runs.store import FINAL_STATUSES, RunDirectory, is_storage_error


def describe_failure(error: Exception, run: RunDirectory) -> str:
    """Say why training failed and return the summary's ``error``: a full disk is one line (the
    last checkpoint is intact and the same command resumes), anything else its traceback."""
    if is_storage_error(error):
        print(
            f"error: {error.strerror} while writing the run's files in {run.path}: the last "
            "checkpoint is intact; free space and run the same command to resume",
            file=sys.stderr,
            flush=True,
        )
    else:
        traceback.print_exc()
    return f"{type(error).__name__}: {error}"


CONCURRENT_RUNS = "OPTREPRO_CONCURRENT_RUNS"
"""The environment variable a sweep's local launcher gives each run: how many runs it keeps
training at once on this machine (``experiments.sweeps.launchers.launch_local``)."""


def concurrent_runs() -> int | None:
    """How many runs trained at once on this machine: the local launcher's count, 1 for a
    single run or the inline launcher, None under Slurm (other jobs may share the node)."""
    given = os.environ.get(CONCURRENT_RUNS, "")
    if given.isdigit():
        return int(given)
    return None if os.environ.get("SLURM_JOB_ID") else 1


def drop_resume_files(run: RunDirectory, status: str, keep_checkpoint: str) -> None:
    """With ``keep_checkpoint=none`` a finished or diverged run keeps only its results: its
    ``checkpoint.pt`` and the parameter snapshots of checkpoint averaging (the averaged
    evaluation that used them is recorded by now) are removed. Any other run keeps both: an
    interrupted or failed run resumes from them."""
    if status in FINAL_STATUSES and keep_checkpoint == "none":
        run.checkpoint_path.unlink(missing_ok=True)
        snapshots.remove_snapshots(run.path)


def close_run(
    cfg: DictConfig,
    prepared: PreparedRun,
    recorder: Recorder,
    state: LoopState,
    world: World,
    status: str,
    outcome: dict[str, Any],
    exit_code: int,
) -> int:
    """Write ``summary.json`` (a full disk: one line, exit 1), drop the checkpoint and the
    snapshots when ``keep_checkpoint=none`` (``drop_resume_files``), and say where the results
    are; returns the exit code. The loop state holds the run's final times
    (``TrainingClock.record``)."""
    run, task, device, calendar = prepared.run, prepared.task, prepared.device, prepared.calendar
    steps = outcome.get("diverged_at", state.update)
    try:
        summary = recorder.finish(
            {
                "status": status,
                **outcome,
                "final": state.final,
                "best": state.best,
                "at_best": state.at_best,
                "steps": steps,
                "epochs": calendar.epoch_float(steps),
                "time_total": state.time_wall,
                "time_train": state.time,
                "time_optimizer": state.time_optimizer,
                "throughput": {
                    "unit": task.unit,
                    "units": state.units,
                    "per_s": state.units / max(state.time, 1e-9),
                },
                "device": device.type,
                "peak_memory_bytes": peak_memory_bytes(device),
                "world_size": world.world_size,
                "target": state.target_summary(prepared.target),
                "concurrent_runs": concurrent_runs(),
            },
            exit_code,
        )
    except OSError as error:
        if not is_storage_error(error):
            raise
        print(
            f"error: summary.json could not be written in {run.path} ({error.strerror}); free "
            "space and run the same command again",
            file=sys.stderr,
            flush=True,
        )
        return 1
    drop_resume_files(run, status, cfg.keep_checkpoint)
    if status == "diverged":
        print(f"diverged: non-finite loss at step {outcome['diverged_at']}", flush=True)
    headline = summary["final"].get(task.headline)
    shown = f"{task.headline} {headline:.4f}" if headline is not None else "no evaluation"
    print(f"{status}: {shown} | results in {run.path}", flush=True)
    return exit_code
