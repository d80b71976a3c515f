"""New kinds of task plug into the unchanged loop.

The task is defined in the tests (``tests/experiments/sequence_task.py``): token units with
padding, a GRU state carried across batches, epochs of varying length, a budget in updates and
gradient clipping. It trains through ``python -m experiments.train`` like any recipe; a SIGKILL
and resume gives the uninterrupted run's metrics (the carried state comes back from the
checkpoint); two ranks on gloo equal one process accumulating two batches per update.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from tests.experiments.cli import (
    REPO_ROOT,
    Workspace,
    assert_same_run,
    assert_trains_like,
    read_metrics,
    read_summary,
    train_env,
)
from tests.runs_in_process import TEST_CONFIGS, run_in_process

SEARCH_PATH = f"hydra.searchpath=[file://{TEST_CONFIGS}]"
RUN = (SEARCH_PATH, "task=tiny_sequence", "device=cpu", "log_every=1", "checkpoint_every=4")
ACCUMULATING = (*RUN, "task.update_freq=2")


def env(**extra: str) -> dict[str, str]:
    """The tests' package must be importable by the launched run (``task.build``)."""
    return train_env(PYTHONPATH=str(REPO_ROOT), **extra)


@pytest.fixture(scope="module")
def accumulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted single-process run accumulating two batches per update (in this
    process; the killed and the two-rank runs are real processes compared against it)."""
    runs_dir = tmp_path_factory.mktemp("single") / "runs"
    done = run_in_process(runs_dir, ACCUMULATING)  # its search path: the tests' configs
    assert done.returncode == 0 and done.run_dir is not None
    return done.run_dir


def test_a_sequence_task_trains_through_the_loop(accumulated: Path) -> None:
    summary = read_summary(accumulated)
    assert summary["status"] == "finished"
    assert summary["steps"] == 30, "the budget is 30 updates"
    assert 3 < summary["epochs"] < 4, "30 updates of epochs of 9 or 10 updates"
    assert summary["throughput"]["unit"] == "tokens"
    assert summary["headline"] == {"metric": "val/ppl", "mode": "min"}
    events = read_metrics(accumulated)
    train = [event for event in events if "train/loss" in event]
    assert [event["step"] for event in train] == list(range(1, 31))
    assert all(0 < event["train/grad_norm"] for event in train), "clipping is on: norms logged"
    evaluations = [event for event in events if "val/loss" in event]
    assert len(evaluations) == 4, "one per epoch end, and the final one"
    assert evaluations[-1]["val/loss"] < evaluations[0]["val/loss"]
    assert evaluations[-1]["val/ppl"] == pytest.approx(math.exp(evaluations[-1]["val/loss"]))
    saved = torch.load(accumulated / "checkpoint.pt", weights_only=True)
    assert set(saved["task"]["hidden"]) == {"0", "1"}, "each lane's state is checkpointed"


def test_a_killed_sequence_run_resumes_with_its_carried_state(
    tmp_path: Path, accumulated: Path
) -> None:
    workspace = Workspace.create(tmp_path)
    killed = workspace.run(ACCUMULATING, env=env(OPTREPRO_FAULT="kill-after-step:14"))
    assert killed.returncode == -9, killed.describe()
    saved = torch.load(killed.run_dir / "checkpoint.pt", weights_only=True)
    assert saved["step"] == 12 and saved["loop"]["position"] > 0, "resumed inside an epoch"
    assert saved["task"]["hidden"], "with a carried hidden state"
    resumed = workspace.run(ACCUMULATING, env=env())
    assert resumed.returncode == 0, resumed.describe()
    assert "resuming" in resumed.stdout
    assert_same_run(resumed.run_dir, accumulated)


@pytest.mark.slow
def test_two_ranks_equal_one_process_accumulating_two_batches(
    tmp_path: Path, accumulated: Path
) -> None:
    workspace = Workspace.create(tmp_path)
    done = workspace.torchrun(RUN, env=env())
    assert done.returncode == 0, done.describe()
    (run_dir,) = workspace.run_dirs()
    assert read_summary(run_dir)["world_size"] == 2
    assert_trains_like(run_dir, accumulated)
