"""Two ranks (gloo, torchrun) split the batch columns of a PTB run: with every dropout off (each
rank draws its own masks otherwise) they train like one process holding all the columns, the
carried hidden state of all columns is in rank 0's checkpoint, and a DDP run killed mid-epoch
resumes on one process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.experiments.cli import Workspace, read_metrics, science, train_env
from tests.experiments.language_model.lm_configs import TINY_PTB, write_corpora

NO_DROPOUT = tuple(
    f"task.model.{key}=0.0"
    for key in ("dropout", "dropout_hidden", "dropout_input", "dropout_embedding", "weight_drop")
)
RUN = ("task=ptb_lstm1", *TINY_PTB, *NO_DROPOUT, "optimizer=adam", "optimizer.lr=0.01",
       "task.epochs=2", "log_every=5", "checkpoint_every=10", "device=cpu",
       "deterministic=true")  # fmt: skip


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpora(tmp_path_factory.mktemp("corpora"))


def torchrun(workspace: Workspace, data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", "2", "-m", "experiments.train",
               f"runs_dir={workspace.runs_dir}", f"data_dir={data_dir}", *RUN]  # fmt: skip
    return subprocess.run(command, cwd=workspace.cwd, env=train_env(**env), capture_output=True,
                          text=True, timeout=600)  # fmt: skip


def assert_same_training(run_dir: Path, reference: Path) -> None:
    got, expected = science(read_metrics(run_dir)), science(read_metrics(reference))
    assert [e["step"] for e in got] == [e["step"] for e in expected]
    for event, wanted in zip(got, expected, strict=True):
        assert event.keys() == wanted.keys()
        for key in event.keys() - {"step", "epoch"}:
            assert event[key] == pytest.approx(wanted[key], rel=1e-4, abs=1e-5), key
    ours = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    theirs = torch.load(reference / "checkpoint.pt", weights_only=True)
    for name, tensor in ours["model"].items():
        torch.testing.assert_close(tensor, theirs["model"][name], rtol=1e-4, atol=1e-5)
    for mine, single in zip(ours["task"]["hidden"], theirs["task"]["hidden"], strict=True):
        assert mine.shape[1] == 4  # every column of the batch, not rank 0's half
        torch.testing.assert_close(mine, single, rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def single(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = Workspace.create(tmp_path_factory.mktemp("single"))
    done = workspace.run([f"data_dir={data_dir}", *RUN])
    assert done.returncode == 0, done.describe()
    return done.run_dir


@pytest.mark.slow
def test_two_ranks_train_like_one_process(data_dir: Path, tmp_path: Path, single: Path) -> None:
    workspace = Workspace.create(tmp_path)
    done = torchrun(workspace, data_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    (run_dir,) = workspace.run_dirs()
    assert '"world_size": 2' in (run_dir / "summary.json").read_text()
    assert_same_training(run_dir, single)


@pytest.mark.slow
def test_a_ddp_run_resumes_on_one_process(data_dir: Path, tmp_path: Path, single: Path) -> None:
    workspace = Workspace.create(tmp_path)
    # The checkpoint of step 20 is inside the first epoch (≈ 28 windows) and on a log point: the
    # loop saves only rank 0's sums of an open log window (TrainMeter.state), so a DDP checkpoint
    # between log points would resume with a wrong first window (reported, not this task's).
    killed = torchrun(workspace, data_dir, OPTREPRO_FAULT="kill-after-step:23")
    assert killed.returncode != 0
    resumed = workspace.run([f"data_dir={data_dir}", *RUN])
    assert resumed.returncode == 0, resumed.describe()
    assert "from step 20" in resumed.stdout
    assert_same_training(resumed.run_dir, single)
