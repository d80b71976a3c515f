"""Where a sweep's runs train: ``inline`` (one after another in this process), ``local`` (a
process per run through submitit's local executor, at most ``max_parallel`` at a time) and
``slurm`` (one Slurm job array through submitit). Each calls ``report.ended`` as a run ends.

The submitit parameters are Hydra's submitit launcher keys (``hydra.launcher.*``, the
``configs/launcher/`` files and the git-ignored Slurm site file set them), mapped to submitit the
way hydra-submitit-launcher maps them. Job logs are in ``<runs_dir>/<sweep>/.submitit/<job id>/``.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from experiments.lifecycle_close import CONCURRENT_RUNS
from experiments.sweeps.expansion import Job
from experiments.sweeps.report import SweepReport

QUEUE_KEYS = frozenset(
    {"timeout_min", "cpus_per_task", "gpus_per_node", "tasks_per_node", "mem_gb", "nodes", "name",
     "stderr_to_stdout"}
)  # fmt: skip
"""submitit's parameters common to every executor; the others take the executor's prefix."""
NEVER_STARTS = frozenset(
    {"PartitionConfig", "PartitionNodeLimit", "PartitionTimeLimit", "QOSMaxCpuPerJobLimit",
     "QOSMaxGRESPerJob", "QOSMaxMemoryPerJob", "QOSMaxWallDurationPerJobLimit",
     "AssocMaxCpuPerJobLimit", "AssocMaxWallDurationPerJobLimit", "InvalidAccount", "InvalidQOS"}
)  # fmt: skip
"""Slurm's pending reasons for jobs that ask for more than the partition, QOS or account allows:
they never start as submitted."""


def executor(kind: str, params: dict[str, Any], folder: Path) -> Any:
    """A submitit executor for ``kind`` (local | slurm) with Hydra's submitit launcher keys."""
    import submitit

    params = {k: v for k, v in params.items() if k not in ("_target_", "submitit_folder")}
    init = (
        {f"{kind}_max_num_timeout": params.pop("max_num_timeout")}
        if "max_num_timeout" in params
        else {}
    )
    made = submitit.AutoExecutor(folder=str(folder / "%j"), cluster=kind, **init)
    made.update_parameters(
        **{key if key in QUEUE_KEYS else f"{kind}_{key}": value for key, value in params.items()}
    )
    return made


def tidy(folder: Path) -> None:
    """Remove the empty folder literally named ``%j`` that submitit makes for its pattern."""
    literal = folder / "%j"
    if literal.is_dir() and not any(literal.iterdir()):
        literal.rmdir()


def job_code(job: Any) -> tuple[int, str | None]:
    """The exit code a submitit job returned, or 1 and what went wrong."""
    try:
        return int(job.result()), None
    except Exception as error:  # noqa: BLE001 - submitit raises for killed or failed jobs
        text = str(error).strip().splitlines()
        return 1, text[-1] if text else type(error).__name__


class ErrorLines(io.TextIOBase):
    """stderr as it is, remembering the last ``error: ...`` line (an inline run's refusal)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.last = stream, None

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.startswith("error: "):
                self.last = line
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


def launch_inline(jobs: Sequence[Job], report: SweepReport) -> None:
    """One run after another in this process; a stop signal interrupts the run (it checkpoints)
    and the sweep (``KeyboardInterrupt`` after the run closed)."""
    for index, job in enumerate(jobs):
        report.started(job)
        errors = ErrorLines(sys.stderr)
        with contextlib.redirect_stderr(errors):
            code = job.callable()()
        report.ended(job, code, errors.last)
        if report.outcomes[-1].status == "interrupted":
            report.not_started(jobs[index + 1 :])
            raise KeyboardInterrupt


def launch_local(
    jobs: Sequence[Job],
    params: dict[str, Any],
    folder: Path,
    max_parallel: int,
    report: SweepReport,
) -> None:
    """A process per run, at most ``max_parallel`` at a time; a run ends, the next starts.
    Ctrl-C (or SIGTERM to the sweep) stops the running ones with their checkpoints, waits for
    them, and raises ``KeyboardInterrupt``. Each run is told how many train at once
    (``CONCURRENT_RUNS``, recorded in its ``summary.json``): their seconds are not comparable
    with those of a run that trained alone."""
    made = executor("local", params, folder)
    waiting, running = list(jobs), []
    try:
        while waiting or running:
            while waiting and len(running) < max_parallel:
                job = waiting.pop(0)
                report.started(job)
                with sigint_ignored(), concurrency(min(max_parallel, len(jobs))):
                    running.append((job, made.submit(job.callable())))
            time.sleep(0.2)
            _collect(running, report)
    except KeyboardInterrupt:
        report.say(f"stopping {len(running)} running run(s): each writes its checkpoint")
        for _, submitted in running:
            stop_local_job(submitted)
        deadline = time.monotonic() + STOP_GRACE_S
        while running and time.monotonic() < deadline:
            time.sleep(0.2)
            _collect(running, report)
        report.not_started(waiting)
        raise
    finally:
        tidy(folder)


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while submitit starts a job's controller process, which inherits it.

    Ctrl-C in a terminal reaches the whole process group. submitit's local controller answers
    SIGINT by forwarding it to the run and killing the run (SIGKILL) one second later, before a
    large checkpoint is written, with a traceback of its own. Ignoring it there leaves the stop
    to the run (its own handler checkpoints) and to ``stop_local_job``."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def concurrency(runs: int) -> Iterator[None]:
    """``CONCURRENT_RUNS`` set to ``runs`` while submitit starts a job's process, which
    inherits this process's environment; restored after."""
    previous = os.environ.get(CONCURRENT_RUNS)
    os.environ[CONCURRENT_RUNS] = str(runs)
    try:
        yield
    finally:
        if previous is None:
            del os.environ[CONCURRENT_RUNS]
        else:
            os.environ[CONCURRENT_RUNS] = previous


def stop_local_job(submitted: Any) -> None:
    """SIGTERM to submitit's controller, which forwards it to the run without killing it: the
    run checkpoints and ends ``interrupted`` (also when only the sweep got the Ctrl-C)."""
    process = getattr(submitted, "_process", None)  # submitit keeps the Popen there
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)


STOP_GRACE_S = 120.0
"""How long a stopped sweep waits for its runs' checkpoints."""


def _collect(running: list[tuple[Job, Any]], report: SweepReport) -> None:
    for entry in [entry for entry in running if entry[1].done()]:
        running.remove(entry)
        job, submitted = entry
        code, problem = job_code(submitted)
        report.ended(job, code, problem, log=Path(submitted.paths.stderr))


def pending_reasons(job_ids: Sequence[str]) -> dict[str, str]:
    """``{job id: reason}`` of the jobs Slurm keeps pending (squeue; empty if unavailable)."""
    arrays = sorted({job_id.split("_")[0] for job_id in job_ids})
    try:
        listed = subprocess.run(
            ["squeue", "-h", "-r", "-o", "%i|%T|%r", "-j", ",".join(arrays)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return {}
    reasons = {}
    for line in listed.stdout.splitlines():
        job_id, state, reason = (line.split("|") + ["", ""])[:3]
        if state == "PENDING":
            reasons[job_id.strip()] = reason.strip()
    return reasons


def launch_slurm(
    jobs: Sequence[Job],
    params: dict[str, Any],
    folder: Path,
    wait: bool,
    report: SweepReport,
) -> None:
    """One job array; with ``wait`` a line per run as it ends (and jobs that can never start
    are reported with Slurm's reason and cancelled), without it the array ids and the command
    that reports later."""
    made = executor("slurm", params, folder)
    with made.batch():
        submitted = [made.submit(job.callable()) for job in jobs]
    ids = [job.job_id for job in submitted]
    tidy(folder)
    report.submitted(jobs, ids)
    if not wait:
        return
    running = list(zip(jobs, submitted, strict=True))
    try:
        _wait_slurm(running, report)
    except KeyboardInterrupt:
        report.say(f"cancelling {len(running)} array task(s): Slurm's SIGTERM checkpoints them")
        for _, sub in running:
            sub.cancel(check=False)
        report.not_started([job for job, _ in running], "cancelled")
        raise


def _wait_slurm(running: list[tuple[Job, Any]], report: SweepReport) -> None:
    checked = 0.0
    while running:
        time.sleep(1.0)
        for entry in [entry for entry in running if entry[1].done()]:
            running.remove(entry)
            code, problem = job_code(entry[1])
            report.ended(entry[0], code, problem, log=Path(entry[1].paths.stderr))
        if running and time.monotonic() - checked > 5:
            checked = time.monotonic()
            reasons = pending_reasons([entry[1].job_id for entry in running])
            stuck = [(job, sub, reasons[sub.job_id]) for job, sub in running
                     if reasons.get(sub.job_id) in NEVER_STARTS]  # fmt: skip
            for job, sub, reason in stuck:
                sub.cancel(check=False)
                running.remove((job, sub))
                report.never_started(job, sub.job_id, reason)


def default_parallelism(cpus_per_task: int | None) -> tuple[int, int]:
    """(runs at a time, threads per run): this machine's cores over the threads each run uses
    (``OMP_NUM_THREADS`` if set, else ``cpus_per_task``, else 1)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = int(os.environ.get("OMP_NUM_THREADS") or cpus_per_task or 1)
    return max(1, (cores or 1) // max(threads, 1)), threads
