"""What a sweep says: a line per run as it ends, and a closing report — the counts per outcome and
one line per run that did not finish (its directory, status and error, and where its log is).

A run's outcome comes from its ``summary.json`` and its exit code: ``finished`` and ``diverged``
are results; ``failed``, ``interrupted``, ``killed`` (the process died while training) and
``refused`` (bad input: exit 2, nothing written) are not, and make the sweep exit non-zero (1 when
a run failed, was interrupted or killed, or the sweep was stopped before it started some runs,
else 2). Under a tuner the report spans every batch the sweeper launched.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from experiments.runs.store import read_json
from experiments.sweeps.expansion import Job

SHOWN_SKIPPED = 5


@dataclass
class Outcome:
    job: Job
    status: str
    detail: str
    log: Path | None = None


def last_error_line(log: Path | None) -> str | None:
    """The last ``error: ...`` line of a job's log (a refusal's one line), if any."""
    if log is None or not log.is_file():
        return None
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    return (errors or lines or [None])[-1]


class SweepReport:
    def __init__(self, sweep_dir: Path, to_launch: int = 0, stream: TextIO | None = None) -> None:
        self.sweep_dir, self.total, self.stream = sweep_dir, to_launch, stream or sys.stdout
        self.outcomes: list[Outcome] = []
        self.skipped: list[Job] = []
        self.stopped = False
        self.started_at: dict[str, float] = {}
        self.began = time.monotonic()
        self.submitted_ids: list[str] = []

    def say(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def name(self, job: Job) -> str:
        return job.identity.name

    def skip(self, jobs: Sequence[Job]) -> None:
        """Finished runs the sweep does not launch (no process is started for them)."""
        self.skipped += list(jobs)
        if not jobs:
            return
        shown = ", ".join(self.name(job) for job in jobs[:SHOWN_SKIPPED])
        more = f" and {len(jobs) - SHOWN_SKIPPED} more" if len(jobs) > SHOWN_SKIPPED else ""
        self.say(
            f"{len(jobs)} runs already finished, skipped (force=true re-runs them): {shown}{more}"
        )

    def add_batch(self, to_launch: int) -> None:
        """A batch of the sweeper's: its runs to launch count in the ``[i/n]`` lines."""
        self.total += to_launch

    def not_started(self, jobs: Sequence[Job], status: str = "not started") -> None:
        """Runs a stopped sweep did not start (or cancelled before they ended)."""
        self.stopped = True
        for job in jobs:
            self.outcomes.append(Outcome(job, status, "the sweep was stopped"))

    def started(self, job: Job) -> None:
        self.started_at[self.name(job)] = time.monotonic()

    def ended(
        self, job: Job, code: int, problem: str | None = None, log: Path | None = None
    ) -> None:
        summary = read_json(job.identity.path / "summary.json") or {}
        status = str(summary.get("status", "")) if summary else ""
        if code == 2 and status != "failed":
            status = "refused"  # bad input: one line, nothing written (or a held lock)
        elif status in ("", "running"):
            status = "killed" if status else "failed"  # the process died while it trained
        if status in ("finished", "diverged"):
            headline = (summary.get("headline") or {}).get("metric")
            value = (summary.get("final") or {}).get(headline)
            detail = f"{headline} {value:.4f}" if isinstance(value, int | float) else ""
            if status == "diverged":
                detail = f"non-finite loss at step {summary.get('diverged_at')}"
        else:
            detail = summary.get("error") or problem or last_error_line(log) or f"exit {code}"
            detail = str(detail).strip().splitlines()[0].removeprefix("error: ")
        outcome = Outcome(job, status, str(detail).strip(), log)
        self.outcomes.append(outcome)
        took = time.monotonic() - self.started_at.get(self.name(job), self.began)
        self.say(f"[{len(self.outcomes)}/{self.total}] {status:<11} {self.name(job)}  "
                 f"{outcome.detail} ({took:.0f} s)")  # fmt: skip

    def never_started(self, job: Job, job_id: str, reason: str) -> None:
        detail = (
            f"Slurm job {job_id} pends with reason {reason}: it asks for more than the "
            "partition allows (e.g. hydra.launcher.cpus_per_task, mem_gb, gpus_per_node, "
            "timeout_min); cancelled"
        )
        self.outcomes.append(Outcome(job, "never started", detail))
        self.say(f"[{len(self.outcomes)}/{self.total}] never started {self.name(job)}  {detail}")

    def submitted(self, jobs: Sequence[Job], job_ids: Sequence[str]) -> None:
        self.submitted_ids = list(job_ids)
        arrays = sorted({job_id.split("_")[0] for job_id in job_ids})
        self.say(f"submitted {len(jobs)} runs as Slurm job array {', '.join(arrays)} "
                 f"(logs: {self.sweep_dir / '.submitit'}/)")  # fmt: skip

    def close(self, report_command: str | None = None) -> int:
        """The closing report; returns the sweep's exit code."""
        if report_command is not None:  # submitted without waiting
            self.say(f"not waiting (launcher.wait=false): report later with `{report_command}`")
            return 0
        counts = Counter(outcome.status for outcome in self.outcomes)
        if self.skipped:
            counts["skipped (already finished)"] = len(self.skipped)
        minutes = (time.monotonic() - self.began) / 60
        total = ", ".join(f"{n} {status}" for status, n in counts.items()) or "nothing to run"
        self.say(f"sweep done in {minutes:.1f} min: {total}")
        unfinished = [o for o in self.outcomes if o.status not in ("finished", "diverged")]
        if unfinished:
            self.say("runs that did not finish:")
            for outcome in unfinished:
                where = f" (log: {outcome.log})" if outcome.log else ""
                self.say(
                    f"  {outcome.job.identity.path}  {outcome.status}: {outcome.detail}{where}"
                )
        if self.stopped or any(o.status in ("failed", "interrupted", "killed") for o in unfinished):
            return 1
        return 2 if unfinished else 0
