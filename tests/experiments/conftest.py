"""Fixtures for the engine's command-line tests: scratch workspaces and uninterrupted reference
runs shared by every test that compares a resumed run against one."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.experiments.cli import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.create(tmp_path)


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``reference_run(overrides)``: the run directory of one uninterrupted run of these
    overrides, launched once per session (thread-safe: concurrent jobs may ask for it)."""
    done: dict[tuple[str, ...], Path] = {}
    lock = threading.Lock()

    def run(overrides: tuple[str, ...]) -> Path:
        with lock:
            if overrides not in done:
                workspace = Workspace.create(tmp_path_factory.mktemp("reference"))
                finished = workspace.run(overrides)
                assert finished.returncode == 0, finished.describe()
                assert finished.run_dir is not None
                done[overrides] = finished.run_dir
            return done[overrides]

    return run
