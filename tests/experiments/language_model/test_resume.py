"""SIGKILL in the middle of an epoch, then the same command again: the language-model runs end
with the same ``metrics.jsonl`` (``time`` excepted) and ``summary.json`` metrics as uninterrupted
ones — the carried hidden state, the position in the epoch's random BPTT windows (PTB) or in the
epoch's shuffled shards (One Billion Word), the dropout RNG and NT-ASGD's averaging state all
come back from ``checkpoint.pt``."""

from __future__ import annotations

import signal
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
import torch

from tests.experiments.cli import (
    Workspace,
    assert_same_run,
    read_summary,
    run_concurrently,
    train_env,
)
from tests.experiments.language_model.lm_configs import TINY_LM1B, TINY_PTB, write_corpora
from tests.runs_in_process import run_in_process

PTB_RUN = (
    "task=ptb_lstm1", *TINY_PTB, "optimizer=ntasgd", "optimizer.lr=4", "optimizer.nonmono=1",
    "task.epochs=2", "eval_every=6", "checkpoint_every=7", "log_every=1", "device=cpu",
    "deterministic=true",
)  # fmt: skip
"""≈ 56 steps over 2 epochs of random-length windows, NT-ASGD switching to averaging early."""
PTB_KILL = 45
"""The switch fires at the evaluation of step 30; the checkpoint of step 42 is inside epoch 2
(epochs of ≈ 28 windows)."""
LM1B_RUN = (
    "task=lm1b_lstm", *TINY_LM1B, "task.epochs=2", "eval_every=40", "checkpoint_every=25",
    "log_every=1", "device=cpu", "deterministic=true",
)  # fmt: skip
LM1B_KILL = 230
"""156 steps per epoch; the checkpoint of step 225 is in the middle of the epoch's second shard."""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpora(tmp_path_factory.mktemp("corpora"))


def uninterrupted(root: Path, overrides: tuple[str, ...]) -> Path:
    """The reference, in this process (the killed run beside it is a real process)."""
    finished = run_in_process(root / "runs", overrides)
    assert finished.returncode == 0 and finished.run_dir is not None
    return finished.run_dir


def killed_and_resumed(root: Path, overrides: tuple[str, ...], step: int) -> tuple[dict, Path]:
    workspace = Workspace.create(root)
    killed = workspace.run(overrides, env=train_env(OPTREPRO_FAULT=f"kill-after-step:{step}"))
    assert killed.returncode == -signal.SIGKILL, killed.describe()
    assert read_summary(killed.run_dir)["status"] == "running"
    saved = torch.load(killed.run_dir / "checkpoint.pt", weights_only=True)
    resumed = workspace.run(overrides)
    assert resumed.returncode == 0, resumed.describe()
    assert "resuming" in resumed.stdout
    return saved, resumed.run_dir


def pair(data_dir: Path, factory: pytest.TempPathFactory, run: tuple, kill: int) -> dict:
    overrides = (f"data_dir={data_dir}", *run)
    jobs: dict[str, Callable[[], object]] = {
        "resumed": partial(killed_and_resumed, factory.mktemp("killed"), overrides, kill),
    }
    here = {"reference": partial(uninterrupted, factory.mktemp("reference"), overrides)}
    done = run_concurrently(jobs, workers=1, in_this_thread=here)
    return {name: future.result() for name, future in done.items()}


def test_a_ptb_run_killed_mid_epoch_resumes_exactly(
    data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    runs = pair(data_dir, tmp_path_factory, PTB_RUN, PTB_KILL)
    saved, resumed = runs["resumed"]
    assert saved["loop"]["position"] > 0, "the checkpoint is inside an epoch"
    assert saved["task"]["hidden"], "with the carried hidden state"
    assert saved["optimizer"]["ntasgd"]["averaging"], "after NT-ASGD switched to averaging"
    assert_same_run(resumed, runs["reference"])


@pytest.mark.slow
def test_an_lm1b_run_killed_mid_shard_resumes_exactly(
    data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    runs = pair(data_dir, tmp_path_factory, LM1B_RUN, LM1B_KILL)
    saved, resumed = runs["resumed"]
    assert saved["loop"]["epoch"] == 1 and saved["loop"]["position"] > 0
    assert saved["task"]["hidden"]
    assert_same_run(resumed, runs["reference"])


def test_a_resume_on_changed_data_is_refused_and_force_starts_over(tmp_path: Path) -> None:
    """The checkpoint records the data hashes the run trained on: ``ptb.train.txt`` replaced
    after a kill makes the same command exit 2 in one line naming the file; force=true starts
    the run again on the new data."""
    data_dir = write_corpora(tmp_path / "corpora")
    overrides = (f"data_dir={data_dir}", *PTB_RUN)
    workspace = Workspace.create(tmp_path / "work")
    killed = workspace.run(overrides, env=train_env(OPTREPRO_FAULT="kill-after-step:20"))
    assert killed.returncode == -signal.SIGKILL, killed.describe()
    saved = torch.load(killed.run_dir / "checkpoint.pt", weights_only=True)
    files = {f"ptb/ptb.{split}.txt" for split in ("train", "valid", "test")}
    assert set(saved["data"]) == files | {"ptb/release_differences"}  # the tiny corpus's counts
    (train,) = data_dir.rglob("ptb.train.txt")
    lines = train.read_text().splitlines(keepends=True)
    train.write_text("".join(lines[len(lines) // 2 :]))  # half the corpus
    refused = workspace.run(overrides)
    assert refused.returncode == 2, refused.describe()
    assert refused.stderr.count("\n") == 1 and "ptb/ptb.train.txt" in refused.stderr
    assert "data changed since its checkpoint" in refused.stderr and "force=true" in refused.stderr
    assert torch.load(killed.run_dir / "checkpoint.pt", weights_only=True)["step"] == saved["step"]
    forced = workspace.run((*overrides, "force=true"))
    assert forced.returncode == 0, forced.describe()
    assert read_summary(forced.run_dir)["status"] == "finished"
