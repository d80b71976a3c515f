"""Fixtures for the engine's command-line tests: scratch workspaces and uninterrupted reference
runs shared by every test that compares a resumed run against one (run in this process by
``run_one``: the tests compare the files a real, interrupted process leaves against them)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.experiments.cli import Workspace
from tests.runs_in_process import run_in_process


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.create(tmp_path)


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``reference_run(overrides)``: the run directory of one uninterrupted run of these
    overrides, run once per session in this process (from the main thread: ``run_one``
    installs signal handlers; ``run_concurrently(in_this_thread=...)`` runs it beside launches)."""
    done: dict[tuple[str, ...], Path] = {}
    lock = threading.Lock()

    def run(overrides: tuple[str, ...]) -> Path:
        with lock:
            if overrides not in done:
                runs_dir = tmp_path_factory.mktemp("reference") / "runs"
                finished = run_in_process(runs_dir, overrides)
                assert finished.returncode == 0, f"exit {finished.returncode}"
                assert finished.run_dir is not None
                done[overrides] = finished.run_dir
            return done[overrides]

    return run
