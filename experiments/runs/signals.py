"""Signals that stop a run cleanly: the loop checks a flag after each step, and evaluations
before each batch (``arrived``).

SIGTERM and SIGINT: save a checkpoint, mark the run ``interrupted``, exit 1. SIGUSR2 (Slurm's
warning before a time limit or preemption): the same, and then the handler that was installed
before ours runs — under submitit that is the one that requeues the job
(``checkpoint_and_try_requeue``), so the requeued job resumes from the checkpoint just written.
It is chained only after the run directory is closed, because it may exit the process.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR2)


class StopSignals:
    def __init__(self) -> None:
        self.received: int | None = None
        self.count = 0
        """Stop signals received so far."""
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._record)
        return self

    def _record(self, signum: int, frame: Any) -> None:
        self.received = signum
        self.count += 1

    def arrived(self, from_now: bool = False) -> Callable[[], bool]:
        """A cheap check for long work (an evaluation): whether a stop signal was received, or
        with ``from_now`` one received after this call (what stops the final evaluations: a
        signal received after the last update but before them leaves the run finished)."""
        if not from_now:
            return lambda: self.received is not None
        before = self.count
        return lambda: self.count > before

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def chain_requeue(self) -> None:
        """After a SIGUSR2, run the handler installed before ours (submitit's requeue)."""
        previous: Callable[[int, Any], None] | Any = self._previous.get(signal.SIGUSR2)
        if self.received == signal.SIGUSR2 and callable(previous):
            previous(signal.SIGUSR2, None)
