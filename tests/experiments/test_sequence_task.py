"""New kinds of task plug into the unchanged loop (issue "One loop for every task", item 9).

The task is defined in the tests (``tests/experiments/sequence_task.py``): token units with
padding, a GRU state carried across batches, epochs of varying length, a budget in updates and
gradient clipping. It trains through ``python -m experiments.train`` like any recipe; a SIGKILL
and resume gives the uninterrupted run's metrics (the carried state comes back from the
checkpoint); two ranks on gloo equal one process accumulating two batches per update.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.experiments.cli import (
    REPO_ROOT,
    Workspace,
    assert_same_run,
    read_metrics,
    read_summary,
    science,
    train_env,
)

SEARCH_PATH = f"hydra.searchpath=[file://{REPO_ROOT / 'tests' / 'experiments' / 'configs'}]"
RUN = (SEARCH_PATH, "task=tiny_sequence", "device=cpu", "log_every=1", "checkpoint_every=4")
ACCUMULATING = (*RUN, "task.update_freq=2")


def env(**extra: str) -> dict[str, str]:
    """The tests' package must be importable by the launched run (``task.build``)."""
    return train_env(PYTHONPATH=str(REPO_ROOT), **extra)


@pytest.fixture(scope="module")
def accumulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted single-process run accumulating two batches per update."""
    done = Workspace.create(tmp_path_factory.mktemp("single")).run(ACCUMULATING, env=env())
    assert done.returncode == 0, done.describe()
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
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc_per_node", "2", "-m", "experiments.train"]
    command += [f"runs_dir={workspace.runs_dir}", *RUN]
    done = subprocess.run(
        command, cwd=workspace.cwd, env=env(), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (run_dir,) = workspace.run_dirs()
    assert read_summary(run_dir)["world_size"] == 2
    ours, theirs = science(read_metrics(run_dir)), science(read_metrics(accumulated))
    assert [event["step"] for event in ours] == [event["step"] for event in theirs]
    for event, wanted in zip(ours, theirs, strict=True):
        assert event.keys() == wanted.keys()
        for key in event.keys() - {"step", "epoch"}:
            assert event[key] == pytest.approx(wanted[key], rel=1e-5, abs=1e-6), key
    mine = torch.load(run_dir / "checkpoint.pt", weights_only=True)["model"]
    reference = torch.load(accumulated / "checkpoint.pt", weights_only=True)["model"]
    for name, tensor in mine.items():
        torch.testing.assert_close(tensor, reference[name], rtol=1e-5, atol=1e-6)
