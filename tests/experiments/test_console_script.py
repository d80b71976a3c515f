"""The console scripts (installed by ``make install``). ``optrepro-train``: the same command as
``python -m experiments.train`` from any directory, with the suite's Hydra launcher found by
Hydra's plugin discovery there, and Hydra's bash completion for it (also for a line typed as
``python -m experiments.train``). Every script of ``[project.scripts]`` answers ``--help`` from
any directory."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.experiments.cli import REPO_ROOT, train_env

BIN = Path(sys.executable).parent
CONSOLE_SCRIPT = BIN / "optrepro-train"
SCRIPTS = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]

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


def test_the_main_commands_are_console_scripts() -> None:
    assert set(SCRIPTS) >= {
        "optrepro-train", "optrepro-sweep-plan", "optrepro-tables", "optrepro-export",
        "optrepro-demo", "optrepro-download",
    }  # fmt: skip
    installed = {ep.name: ep for ep in entry_points(group="console_scripts") if ep.name in SCRIPTS}
    assert set(installed) == set(SCRIPTS), "reinstall the suite (`make install`)"
    assert all(callable(ep.load()) for ep in installed.values())


def one_in_make_test(name: str) -> object:
    """Each ``--help`` is a process importing torch: ``make test`` runs one, test-all all."""
    return name if name == "optrepro-tables" else pytest.param(name, marks=pytest.mark.slow)


@pytest.mark.parametrize("name", [one_in_make_test(name) for name in sorted(SCRIPTS)])
def test_each_console_script_answers_help_from_another_directory(name: str, tmp_path: Path) -> None:
    script = BIN / name
    assert script.is_file(), f"{script} is missing: reinstall the suite (`make install`)"
    answered = run([str(script), "--help"], tmp_path)
    assert answered.returncode == 0, answered.stdout + answered.stderr
    assert answered.stdout.strip() and not answered.stderr.strip(), answered.stderr
    assert list(tmp_path.iterdir()) == []  # nothing lands in the working directory


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
