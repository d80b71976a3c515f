"""Suite-wide test settings and fixtures.

One intra-op thread: the suite runs on 2 cores next to the training subprocesses it launches,
and OpenMP threads spinning against each other make small CPU steps many times slower.

``compose``: ``compose(*overrides, config_dir=..., config_name="train", search_path=None,
return_hydra_config=False)`` composes ``configs/train.yaml`` as the command line does (the one
copy of Hydra's compose calls, tests/runs_in_process.py). ``run_in_process``:
``run_in_process(*overrides, search_path=None, runs_dir=None)`` runs ``run_one`` in this process
with a ``runs_dir`` under the test's tmp_path and returns its exit code and run directory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tests.runs_in_process import InProcessRun, compose_config
from tests.runs_in_process import run_in_process as run_here

torch.set_num_threads(1)


@pytest.fixture
def compose() -> Callable[..., object]:
    return compose_config


@pytest.fixture
def run_in_process(tmp_path: Path) -> Callable[..., InProcessRun]:
    def run(
        *overrides: str, search_path: Path | None = None, runs_dir: Path | None = None
    ) -> InProcessRun:
        return run_here(runs_dir or tmp_path / "runs", overrides, search_path=search_path)

    return run
