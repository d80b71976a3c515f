"""Regression pins (torchtune style): the first losses of a tiny fixed-seed run of the default
task, committed as numbers, must come out again — uninterrupted, and after a SIGKILL and resume.

The pins were recorded once from this suite (digits, Adam, seed 1, deterministic, one thread on
CPU). They guard against silent changes to the data split, the model's initialization, the
optimizer, the loop's order of operations or the resume path; a deliberate change to any of
those must update them, and say so in its commit.
"""

from __future__ import annotations

import pytest

from tests.experiments.cli import Workspace, read_metrics, train_env

RUN = ("max_steps=12", "log_every=1", "checkpoint_every=5", "device=cpu", "deterministic=true")
PINNED_TRAIN_LOSS = [
    2.289201, 2.307121, 2.296504, 2.308873, 2.295128, 2.291348,
    2.286177, 2.290792, 2.293573, 2.288644, 2.295851, 2.266157,
]  # fmt: skip
PINNED_FINAL = {"val/loss": 2.277115, "val/acc": 13.333333, "test/loss": 2.284055}


def assert_pinned(run_dir) -> None:
    events = read_metrics(run_dir)
    losses = [event["train/loss"] for event in events if "train/loss" in event]
    assert losses == pytest.approx(PINNED_TRAIN_LOSS, rel=1e-5)
    (final,) = [event for event in events if "val/loss" in event]
    assert final["step"] == 12
    assert {key: final[key] for key in PINNED_FINAL} == pytest.approx(PINNED_FINAL, rel=1e-5)


def test_a_tiny_run_reproduces_the_pinned_losses(run_in_process) -> None:
    """In this process (``run_one``); the kill-and-resume test below is a real process."""
    done = run_in_process(*RUN)
    assert done.returncode == 0 and done.run_dir is not None
    assert_pinned(done.run_dir)


def test_the_pinned_losses_survive_a_kill_and_resume(workspace: Workspace) -> None:
    killed = workspace.run(RUN, env=train_env(OPTREPRO_FAULT="kill-after-step:7"))
    assert killed.returncode == -9, killed.describe()
    resumed = workspace.run(RUN)
    assert resumed.returncode == 0, resumed.describe()
    assert "resuming" in resumed.stdout
    assert_pinned(resumed.run_dir)
