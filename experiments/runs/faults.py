"""Fault injection for the run store's tests and ``scripts/fault_check.py``, read from the
environment variable ``OPTREPRO_FAULT`` (unset in normal runs: every hook then returns at once).
Every fault is a real event happening to a real process at a chosen point:

- ``kill-after-step:<N>``: SIGKILL once update N is done (logged, evaluated, maybe checkpointed);
- ``kill-during-checkpoint:<N>``: SIGKILL after half of update N's checkpoint file is on disk;
- ``signal-after-step:<N>:<SIGNAL>``: send SIGNAL (e.g. SIGTERM) to itself right after update
  N's optimizer step, before the loop looks for stop signals;
- ``signal-during-eval:<N>:<SIGNAL>[:<RANK>]``: send SIGNAL to itself during the run's
  evaluation number N (1-based, as ``Evaluation.number``), right after its first batch of each
  split; only on rank RANK (torchrun's ``RANK``) when one is given;
- ``stop-before-lock``: SIGSTOP after the first look at the run directory, before the lock is
  taken (a test resumes the process with SIGCONT to force an interleaving).
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "OPTREPRO_FAULT"


def _fault() -> str:
    return os.environ.get(FAULT_ENV, "")


def kill_after_step(step: int) -> None:
    if _fault() == f"kill-after-step:{step}":
        os.kill(os.getpid(), signal.SIGKILL)


def kill_during_checkpoint(step: int) -> bool:
    """True when this checkpoint write must be cut off half-way (the caller writes half and
    then calls ``kill_now``)."""
    return _fault() == f"kill-during-checkpoint:{step}"


def kill_now() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _signal_at(kind: str, at: int) -> None:
    fault_kind, _, rest = _fault().partition(":")
    if fault_kind == kind:
        when, _, rest = rest.partition(":")
        name, _, rank = rest.partition(":")
        if when == str(at) and rank in ("", os.environ.get("RANK", "0")):
            os.kill(os.getpid(), getattr(signal, name or "SIGTERM"))


def signal_after_step(step: int) -> None:
    _signal_at("signal-after-step", step)


def signal_during_evaluation(number: int) -> None:
    _signal_at("signal-during-eval", number)


def stop_before_lock() -> None:
    if _fault() == "stop-before-lock":
        os.kill(os.getpid(), signal.SIGSTOP)
