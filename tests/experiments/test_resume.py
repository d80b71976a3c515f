"""Resume that loses nothing: a run killed with SIGKILL at any point and launched
again with the same command ends with the same ``metrics.jsonl`` (``time`` excepted) and the same
``summary.json`` metrics as an uninterrupted run (``deterministic=true`` on CPU).

Kills are real: ``OPTREPRO_FAULT`` makes the engine SIGKILL itself at a chosen point, or the test
sends SIGKILL from outside at a random moment."""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
import torch
import yaml

from tests.experiments.cli import (
    LONG_RUN,
    SHORT_RUN,
    TEMPORARY_CHECKPOINT,
    Workspace,
    assert_same_run,
    count_lines,
    read_metrics,
    read_summary,
    run_concurrently,
    train_env,
    wait_for_metrics,
)


def kill(workspace: Workspace, overrides: tuple[str, ...], fault: str) -> Path:
    """Launch with a fault injected; the process must die of SIGKILL mid-run."""
    killed = workspace.run(overrides, env=train_env(OPTREPRO_FAULT=fault))
    assert killed.returncode == -signal.SIGKILL, killed.describe()
    assert killed.run_dir is not None
    assert read_summary(killed.run_dir)["status"] == "running"
    return killed.run_dir


def relaunch(workspace: Workspace, overrides: tuple[str, ...]) -> Path:
    resumed = workspace.run(overrides)
    assert resumed.returncode == 0, resumed.describe()
    assert resumed.run_dir is not None
    return resumed.run_dir


@dataclass(frozen=True)
class Resumed:
    """What a killed run left behind, and the run directory after the same command again."""

    logged_steps: list[int]
    partial_checkpoint: bool
    checkpoint_step: int | None
    run_dir: Path


def kill_and_relaunch(root: Path, overrides: tuple[str, ...], fault: str) -> Resumed:
    workspace = Workspace.create(root)
    run_dir = kill(workspace, overrides, fault)
    checkpoint = run_dir / "checkpoint.pt"
    saved = torch.load(checkpoint, weights_only=True) if checkpoint.exists() else None
    killed = Resumed(
        logged_steps=[event["step"] for event in read_metrics(run_dir)],
        partial_checkpoint=(run_dir / TEMPORARY_CHECKPOINT).exists(),
        checkpoint_step=None if saved is None else saved["step"],
        run_dir=run_dir,
    )
    relaunch(workspace, overrides)
    return killed


KILL_POINTS = {
    "before-the-first-checkpoint": 7,
    "right-after-a-checkpoint": 30,
    "at-an-epoch-end": 40,
    "mid-epoch-between-checkpoints-after-an-evaluation": 52,
}
CHECKPOINT_WRITE = 45  # SHORT_RUN checkpoints every 15 steps: the previous one is at 30


@pytest.fixture(scope="module")
def kill_points(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    reference_run: Callable[..., Path],
) -> dict[str, Future]:
    """The SHORT_RUN kill scenarios this session tests (``make test`` leaves the kill points
    after a step to ``make test-all``), run two at a time, with the uninterrupted reference."""
    selected = {item.originalname for item in request.session.items}
    after_a_step = "test_a_run_killed_after_a_step_resumes_exactly" in selected
    faults = {name: f"kill-after-step:{step}" for name, step in KILL_POINTS.items() if after_a_step}
    faults["during-a-checkpoint-write"] = f"kill-during-checkpoint:{CHECKPOINT_WRITE}"
    jobs: dict[str, Callable[[], object]] = {
        name: partial(kill_and_relaunch, tmp_path_factory.mktemp(name), SHORT_RUN, fault)
        for name, fault in faults.items()
    }
    # the in-process reference trains here while one launch at a time runs beside it
    return run_concurrently(
        jobs, workers=1, in_this_thread={"reference": partial(reference_run, SHORT_RUN)}
    )


@pytest.mark.parametrize("name", KILL_POINTS)
@pytest.mark.slow
def test_a_run_killed_after_a_step_resumes_exactly(
    kill_points: dict[str, Future], name: str
) -> None:
    resumed = kill_points[name].result()
    assert max(resumed.logged_steps) == KILL_POINTS[name], "killed after the step was logged"
    assert_same_run(resumed.run_dir, kill_points["reference"].result())


def test_a_kill_during_a_checkpoint_write_keeps_the_previous_checkpoint(
    kill_points: dict[str, Future],
) -> None:
    resumed = kill_points["during-a-checkpoint-write"].result()
    assert max(resumed.logged_steps) == CHECKPOINT_WRITE
    assert resumed.partial_checkpoint, "the kill came while the temporary file was written"
    assert resumed.checkpoint_step == CHECKPOINT_WRITE - 15, "the previous checkpoint is intact"
    assert_same_run(resumed.run_dir, kill_points["reference"].result())


def test_an_external_sigkill_at_a_random_moment_resumes_exactly(
    workspace: Workspace, reference_run: Callable[..., Path]
) -> None:
    lines = random.Random(os.urandom(8)).randint(2, 120)  # of 324: a margin for a busy CI
    launched = workspace.start(LONG_RUN)
    metrics = wait_for_metrics(launched, lines)
    os.kill(launched.pid, signal.SIGKILL)
    killed = launched.finish()
    assert killed.returncode == -signal.SIGKILL, killed.describe()
    total = count_lines(reference_run(LONG_RUN) / "metrics.jsonl")
    assert count_lines(metrics) < total, f"killed after {lines} lines, but the run had finished"
    assert_same_run(relaunch(workspace, LONG_RUN), reference_run(LONG_RUN))


@pytest.fixture(scope="module")
def unfinished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Path]:
    """A SHORT_RUN killed at step 20 (its last checkpoint at 15), not yet relaunched."""
    workspace = Workspace.create(tmp_path_factory.mktemp("unfinished"))
    return workspace, kill(workspace, SHORT_RUN, "kill-after-step:20")


def edit_stored_config(run_dir: Path, key: str, value: object) -> None:
    path = run_dir / "config.yaml"
    config = yaml.safe_load(path.read_text())
    node = config
    *parents, leaf = key.split(".")
    for parent in parents:
        node = node[parent]
    node[leaf] = value
    path.write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.mark.parametrize(("key", "value"), [("task.batch_size", 16), ("optimizer.eps", 1e-6)])
def test_resuming_with_a_different_scientific_config_is_refused(
    unfinished: tuple[Workspace, Path], key: str, value: object
) -> None:
    workspace, run_dir = unfinished
    config = (run_dir / "config.yaml").read_text()
    metrics = (run_dir / "metrics.jsonl").read_bytes()
    assert read_summary(run_dir)["status"] == "running", "precondition: an unfinished run"
    try:
        edit_stored_config(run_dir, key, value)
        refused = workspace.run(SHORT_RUN)
    finally:
        (run_dir / "config.yaml").write_text(config)
    assert refused.returncode == 2, refused.describe()
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0], refused.describe()
    assert "Traceback" not in refused.stdout + refused.stderr
    assert read_summary(run_dir)["status"] == "running"
    assert (run_dir / "metrics.jsonl").read_bytes() == metrics


def test_an_operational_difference_does_not_stop_a_resume(
    unfinished: tuple[Workspace, Path], reference_run: Callable[..., Path]
) -> None:
    """Runs after the refusals above (same unfinished run): they must have changed nothing."""
    workspace, run_dir = unfinished
    edit_stored_config(run_dir, "log_every", 5)
    edit_stored_config(run_dir, "checkpoint_every", 7)
    edit_stored_config(run_dir, "device", "auto")
    assert_same_run(relaunch(workspace, SHORT_RUN), reference_run(SHORT_RUN))


SWEEP_RUN = (
    "task.epochs=2",
    "task.batch_size=128",
    "log_every=1",
    "eval_every=4",
    "checkpoint_every=3",
    "schedule=cosine",
    "device=cpu",
    "deterministic=true",
)
"""20 steps (10 per epoch), an evaluation every 4 steps and a checkpoint every 3."""
SWEEP_FAULTS = [f"kill-after-step:{step}" for step in range(1, 21)] + [
    f"kill-during-checkpoint:{step}" for step in (3, 6, 9, 12, 15, 18, 20)
]


@pytest.fixture(scope="module")
def every_kill_point(
    tmp_path_factory: pytest.TempPathFactory, reference_run: Callable[..., Path]
) -> dict[str, Future]:
    jobs: dict[str, Callable[[], object]] = {
        fault: partial(kill_and_relaunch, tmp_path_factory.mktemp("sweep"), SWEEP_RUN, fault)
        for fault in SWEEP_FAULTS
    }
    jobs["reference"] = partial(reference_run, SWEEP_RUN)
    return run_concurrently(jobs)


@pytest.mark.slow
@pytest.mark.parametrize("fault", SWEEP_FAULTS)
def test_every_kill_point_resumes_exactly(every_kill_point: dict[str, Future], fault: str) -> None:
    resumed = every_kill_point[fault].result()
    assert_same_run(resumed.run_dir, every_kill_point["reference"].result())
