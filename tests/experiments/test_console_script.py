"""The console script ``optrepro-train`` (installed by ``make install``): the same command as
``python -m experiments.train`` from any directory, with the suite's Hydra launcher found by
Hydra's plugin discovery there, and Hydra's bash completion for it (also for a line typed as
``python -m experiments.train``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.experiments.cli import train_env

CONSOLE_SCRIPT = Path(sys.executable).parent / "optrepro-train"

pytestmark = pytest.mark.skipif(
    not CONSOLE_SCRIPT.is_file(), reason="optrepro-train is installed by `make install`"
)


def run(arguments: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        arguments, cwd=cwd, env={**train_env(), **env}, capture_output=True, text=True,
        timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_a_sweep_from_another_directory_runs_through_the_suite_launcher(tmp_path: Path) -> None:
    cwd, runs_dir = tmp_path / "elsewhere", tmp_path / "runs"
    cwd.mkdir()
    overrides = ["seed=1,2", "max_steps=3", "launcher=inline", "device=cpu", f"runs_dir={runs_dir}"]
    swept = run([str(CONSOLE_SCRIPT), "-m", *overrides], cwd)
    assert swept.returncode == 0, swept.stdout + swept.stderr
    assert "sweep done" in swept.stdout and "2 finished" in swept.stdout
    assert len(list(runs_dir.rglob("summary.json"))) == 2
    assert list(cwd.iterdir()) == []  # nothing lands in the working directory


@pytest.mark.parametrize(
    "line", ["optrepro-train optimizer=ra", "python -m experiments.train optimizer=ra"]
)
def test_bash_completion_answers_for_the_entry_point(line: str, tmp_path: Path) -> None:
    command = [str(CONSOLE_SCRIPT)] if line.startswith("optrepro") else [
        sys.executable, "-m", "experiments.train"
    ]  # fmt: skip
    answered = run([*command, "-sc", "query=bash"], tmp_path, COMP_LINE=line)
    assert answered.returncode == 0, answered.stderr
    assert "optimizer=radam" in answered.stdout.split() and "Error" not in answered.stderr


@pytest.mark.slow
def test_completion_installs_for_the_console_script(tmp_path: Path) -> None:
    installed = run([sys.executable, "-m", "experiments.train", "-sc", "install=bash"], tmp_path)
    assert installed.returncode == 0, installed.stderr
    assert installed.stdout.rstrip().endswith("hydra_bash_completion optrepro-train")
    assert os.access(CONSOLE_SCRIPT, os.X_OK)
