"""The state of the sweep running in this process, across the batches Hydra's sweeper launches:
its report (a line per run, the closing report), whether a batch was refused, and the exit code
the entry point returns (0 every run finished or diverged; 1 one failed, was interrupted or
killed; 2 one was refused)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from experiments.sweeps.report import SweepReport


@dataclass
class SweepSession:
    sweep: str
    sweep_dir: Path
    report: SweepReport
    refused: bool = False
    later: str | None = None
    """The command that reports later, when Slurm jobs were submitted without waiting."""
    exit_code: int | None = None
    """Set by ``close``."""

    def close(self) -> int:
        """Print the closing report (once); the sweep's exit code."""
        if self.exit_code is None:
            self.exit_code = 2 if self.refused else self.report.close(self.later)
        return self.exit_code


current: SweepSession | None = None
"""The sweep of this process (set by the launcher's first batch, read by the entry point)."""


def start(sweep: str, sweep_dir: Path) -> SweepSession:
    global current
    if current is None or current.sweep_dir != sweep_dir or current.exit_code is not None:
        current = SweepSession(sweep, sweep_dir, SweepReport(sweep_dir))
    return current
