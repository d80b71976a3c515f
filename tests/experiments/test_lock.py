"""The run directory's lock (docs/architecture.md): a second process for the same directory exits
2 naming the holder (pid@host); a ``running`` status with no live holder is a killed run, resumed
by the next launch."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.experiments.cli import (
    LONG_RUN,
    SHORT_RUN,
    Workspace,
    assert_same_run,
    read_summary,
    train_env,
    wait_until,
)


def lock_holder(workspace: Workspace) -> str:
    locks = list(workspace.runs_dir.rglob("lock")) if workspace.runs_dir.is_dir() else []
    return locks[0].read_text().strip() if locks else ""


def test_a_second_process_for_the_same_directory_exits_2_naming_the_first(
    workspace: Workspace, reference_run: Callable[..., Path]
) -> None:
    first = workspace.start(LONG_RUN)
    holder = f"{first.pid}@{socket.gethostname()}"
    wait_until(lambda: lock_holder(workspace) == holder, first, "the first run held the lock")
    os.kill(first.pid, signal.SIGSTOP)  # keeps the lock held, however fast the run is
    try:
        assert first.process.poll() is None, "the first run must still hold the lock"
        second = workspace.run(LONG_RUN)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    first_finished = first.finish()

    assert second.returncode == 2, second.describe()
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and holder in lines[0], second.describe()
    assert "Traceback" not in second.stdout + second.stderr

    assert first_finished.returncode == 0, first_finished.describe()
    run_dir = workspace.run_dirs()[0]
    assert read_summary(run_dir)["status"] == "finished"
    assert_same_run(run_dir, reference_run(LONG_RUN))


@pytest.mark.slow
def test_a_running_status_without_a_live_holder_resumes(
    workspace: Workspace, reference_run: Callable[..., Path]
) -> None:
    killed = workspace.run(SHORT_RUN, env=train_env(OPTREPRO_FAULT="kill-after-step:33"))
    assert killed.returncode == -signal.SIGKILL, killed.describe()
    assert killed.run_dir is not None
    assert read_summary(killed.run_dir)["status"] == "running"
    lock = killed.run_dir / "lock"
    assert lock.read_text().strip() == f"{killed.pid}@{socket.gethostname()}", "a stale holder"
    with open(lock, "a+b") as handle:  # nobody holds it any more
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(handle, fcntl.LOCK_UN)

    resumed = workspace.run(SHORT_RUN)
    assert resumed.returncode == 0, resumed.describe()
    assert_same_run(killed.run_dir, reference_run(SHORT_RUN))
