"""How a run ends: a non-finite loss is ``diverged`` (exit 0, a result), an
exception is ``failed`` with its message (exit 1), SIGTERM/SIGINT checkpoint and mark the run
``interrupted`` (exit 1), and the same command then resumes it exactly."""

from __future__ import annotations

import math
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tests.experiments.cli import (
    LONG_RUN,
    Workspace,
    assert_same_run,
    read_metrics,
    read_summary,
    wait_for_metrics,
)

STEPS_PER_EPOCH = 40
DIVERGING = ("optimizer=sgd", "optimizer.lr=1e6", "task.epochs=1", "log_every=1", "device=cpu")
"""SGD with lr 1e6 overflows the logits within a few steps (observed: a non-finite loss at
step 3); the loss of every earlier step is finite."""


def test_a_non_finite_loss_ends_the_run_as_diverged(workspace: Workspace) -> None:
    result = workspace.run(DIVERGING)
    assert result.returncode == 0, result.describe()
    assert result.run_dir is not None
    summary = read_summary(result.run_dir)
    assert summary["status"] == "diverged"
    assert isinstance(summary["diverged_at"], int)
    assert 1 <= summary["diverged_at"] <= STEPS_PER_EPOCH
    assert summary["steps"] <= summary["diverged_at"] <= summary["steps"] + 1
    assert summary["steps"] < STEPS_PER_EPOCH, "training stopped at the divergence"
    logged = {e["step"]: e["train/loss"] for e in read_metrics(result.run_dir) if "train/loss" in e}
    assert set(range(1, summary["steps"] + 1)) <= set(logged), "log_every=1: every step"
    assert max(logged) <= summary["diverged_at"]
    assert all(
        math.isfinite(loss) for step, loss in logged.items() if step < summary["diverged_at"]
    )
    assert "Traceback" not in result.stdout + result.stderr

    again = workspace.run(DIVERGING)
    assert again.returncode == 0, again.describe()
    assert str(result.run_dir) in again.stdout
    assert read_summary(result.run_dir) == summary, "a diverged run is a result: not re-run"


def test_an_exception_in_the_loop_marks_the_run_failed(workspace: Workspace) -> None:
    """A model whose forward pass raises: ``Linear(64, 10)`` applied to 8×8 images."""
    broken = (
        "task.model._target_=torch.nn.Linear",
        "+task.model.in_features=64",
        "+task.model.out_features=10",
        "max_steps=5",
        "device=cpu",
    )
    result = workspace.run(broken)
    assert result.returncode == 1, result.describe()
    assert result.run_dir is not None
    summary = read_summary(result.run_dir)
    assert summary["status"] == "failed"
    assert "mat1 and mat2 shapes cannot be multiplied" in summary["error"]


def test_an_exception_while_building_the_model_marks_the_run_failed(workspace: Workspace) -> None:
    """The model factory raises (a negative layer size): the run is recorded as failed too."""
    broken = (
        "task.model._target_=torch.nn.Linear",
        "+task.model.in_features=-1",
        "+task.model.out_features=10",
        "max_steps=5",
        "device=cpu",
    )
    result = workspace.run(broken)
    assert result.returncode == 1, result.describe()
    assert result.run_dir is not None, "the failed run has a run directory"
    summary = read_summary(result.run_dir)
    assert summary["status"] == "failed"
    assert "negative dimension" in summary["error"]


@pytest.mark.parametrize(
    "signum",
    [signal.SIGTERM, pytest.param(signal.SIGINT, marks=pytest.mark.slow)],  # SIGINT: make test-all
    ids=["SIGTERM", "SIGINT"],
)
def test_a_signal_checkpoints_marks_interrupted_and_the_run_resumes(
    workspace: Workspace, reference_run: Callable[..., Path], signum: int
) -> None:
    launched = workspace.start(LONG_RUN)
    wait_for_metrics(launched, 3)
    launched.process.send_signal(signum)
    interrupted = launched.finish()
    assert interrupted.returncode == 1, interrupted.describe()
    assert interrupted.run_dir is not None
    summary = read_summary(interrupted.run_dir)
    assert summary["status"] == "interrupted"
    assert 3 <= summary["steps"] < 8 * STEPS_PER_EPOCH, "stopped while training"
    saved = torch.load(interrupted.run_dir / "checkpoint.pt", weights_only=True)
    assert saved["step"] == summary["steps"], "the checkpoint is the step it stopped at"
    assert max(event["step"] for event in read_metrics(interrupted.run_dir)) == summary["steps"]
    assert "Traceback" not in interrupted.stdout + interrupted.stderr

    resumed = workspace.run(LONG_RUN)
    assert resumed.returncode == 0, resumed.describe()
    assert_same_run(interrupted.run_dir, reference_run(LONG_RUN))
