"""Idempotent sweeps (docs/architecture.md, run identity and lock): launching a sweep again skips
its finished runs, resumes the unfinished ones, re-runs with ``force=true``, and never lets two
processes write one run directory — in this process (``launcher=inline``) and with a process per
run (``launcher=local``). ``scripts.sweep_plan`` must predict each of these.

Under submitit the jobs print into ``.submitit/``, so what a launch did is read from the run
directories: a skipped run's files are untouched, and every launch that trains appends one entry
to ``meta.json``'s ``launches``.
"""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest

from experiments.runs.store import RunDirectory
from experiments.sweeps.plan import plan_sweep
from tests.experiments.cli import Workspace, read_metrics, read_summary, science, train_env

SWEEP = ("log_every=5", "eval_every=10", "checkpoint_every=10", "device=cpu")
KILL_AT_15 = "kill-after-step:15"
"""A run of ``max_steps=10`` finishes before step 15; one of ``max_steps=30`` is killed after
step 15 and resumes from its checkpoint at step 10."""


def runs_by_setting(runs_dir: Path) -> dict[tuple[int, int], Path]:
    """``{(seed, max_steps): run directory}``."""
    found = {}
    for path in runs_dir.rglob("summary.json"):
        summary = json.loads(path.read_text())
        found[summary["seed"], int(summary["overrides"]["max_steps"])] = path.parent
    return found


def launches(run_dir: Path) -> int:
    return len(json.loads((run_dir / "meta.json").read_text())["launches"])


def planned_actions(runs_dir: Path, *overrides: str) -> dict[tuple[int, int], str]:
    plan = plan_sweep([f"runs_dir={runs_dir}", *SWEEP, *overrides])
    return {(run.seed, int(run.overrides["max_steps"])): run.action for run in plan.runs}


@pytest.fixture(scope="module")
def one_finished_one_killed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runs_dir holding seed 1 at ``max_steps=10`` finished and at ``max_steps=30`` killed."""
    workspace = Workspace.create(tmp_path_factory.mktemp("sweep"))
    killed = workspace.run(
        ["-m", "launcher=inline", *SWEEP, "seed=1", "max_steps=10,30"],
        env=train_env(OPTREPRO_FAULT=KILL_AT_15),
    )
    assert killed.returncode == -signal.SIGKILL, killed.describe()
    statuses = {
        key: read_summary(path)["status"]
        for key, path in runs_by_setting(workspace.runs_dir).items()
    }
    assert statuses == {(1, 10): "finished", (1, 30): "running"}
    return workspace.runs_dir


@pytest.mark.parametrize(
    "launcher",
    ["inline", pytest.param("local", marks=pytest.mark.slow)],  # local: make test-all
)
def test_a_relaunched_sweep_skips_finished_runs_resumes_a_killed_one_and_force_reruns(
    one_finished_one_killed: Path, tmp_path: Path, launcher: str
) -> None:
    workspace = Workspace.create(tmp_path)
    shutil.copytree(one_finished_one_killed, workspace.runs_dir)

    def sweep(*overrides: str) -> dict[tuple[int, int], Path]:
        finished = workspace.run(["-m", f"launcher={launcher}", *SWEEP, *overrides])
        assert finished.returncode == 0, finished.describe()
        return runs_by_setting(workspace.runs_dir)

    done = runs_by_setting(workspace.runs_dir)[1, 10]
    untouched = (done / "summary.json").read_bytes()
    first_metrics = science(read_metrics(done))
    grid = ("seed=1,2", "max_steps=10,30")
    expected = {(1, 10): "skip", (1, 30): "resume", (2, 10): "new", (2, 30): "new"}
    assert planned_actions(workspace.runs_dir, *grid) == expected

    runs = sweep(*grid)
    assert sorted(runs) == sorted(expected)
    assert (runs[1, 10] / "summary.json").read_bytes() == untouched
    assert {key: launches(path) for key, path in runs.items()} == {
        (1, 10): 1,
        (1, 30): 2,
        (2, 10): 1,
        (2, 30): 1,
    }
    for (_, max_steps), path in runs.items():
        assert read_summary(path)["status"] == "finished"
        logged = [event["step"] for event in read_metrics(path) if "train/loss" in event]
        assert logged == list(range(5, max_steps + 1, 5))

    assert set(planned_actions(workspace.runs_dir, *grid, "force=true").values()) == {"re-run"}
    runs = sweep("seed=1", "max_steps=10", "force=true")
    assert launches(runs[1, 10]) == 2
    assert science(read_metrics(runs[1, 10])) == first_metrics
    assert set(planned_actions(workspace.runs_dir, *grid).values()) == {"skip"}


def test_a_sweep_never_writes_a_run_directory_another_process_holds(tmp_path: Path) -> None:
    workspace = Workspace.create(tmp_path)
    grid = ("seed=1,2", "max_steps=10")
    plan = plan_sweep([f"runs_dir={workspace.runs_dir}", *SWEEP, *grid])
    held = RunDirectory(next(run.path for run in plan.runs if run.seed == 2))
    held.acquire()
    try:
        finished = workspace.run(["-m", "launcher=inline", *SWEEP, *grid])
    finally:
        held.release()
    assert finished.returncode == 2, finished.describe()
    assert "is locked by" in finished.stderr
    assert read_summary(runs_by_setting(workspace.runs_dir)[1, 10])["status"] == "finished"
    assert sorted(path.name for path in held.path.iterdir()) == ["lock"]
