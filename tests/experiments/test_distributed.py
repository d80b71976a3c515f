"""DistributedDataParallel on CPU (gloo, 2 processes through torchrun) against one process.

``task.batch_size`` is the global batch: two ranks with 16 samples each must train like one
process with 32 — the same samples in the same order, the same steps per epoch (the epoch's
last, smaller batch is split 5/5) — and a run killed under DDP resumes on one process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.experiments.cli import Finished, Workspace, assert_trains_like, train_env
from tests.runs_in_process import run_in_process

RUN = ("task.epochs=2", "log_every=5", "checkpoint_every=20", "device=cpu", "deterministic=true")


def torchrun(workspace: Workspace, *extra: str, **env: str) -> Finished:
    return workspace.torchrun([*RUN, *extra], env=train_env(**env))


def assert_same_training(run_dir: Path, reference: Path) -> None:
    assert_trains_like(run_dir, reference, same_epochs=True)


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one-process run, in this process."""
    done = run_in_process(tmp_path_factory.mktemp("single") / "runs", RUN)
    assert done.returncode == 0 and done.run_dir is not None
    return done.run_dir


def test_two_ranks_train_like_one_process_with_the_global_batch(tmp_path, single) -> None:
    workspace = Workspace.create(tmp_path)
    done = torchrun(workspace)
    assert done.returncode == 0, done.describe()
    (run_dir,) = workspace.run_dirs()
    assert run_dir.relative_to(workspace.runs_dir).parts == single.parts[-5:]  # same identity
    summary = (run_dir / "summary.json").read_text()
    assert '"world_size": 2' in summary
    assert_same_training(run_dir, single)


@pytest.mark.slow
def test_a_ddp_run_resumes_on_one_process(tmp_path, single) -> None:
    """The checkpoint at step 36 falls inside a log window (logs every 5 steps): the window's
    sums of both ranks must be in it, or the resumed run logs a wrong train/loss at step 40."""
    workspace = Workspace.create(tmp_path)
    killed = torchrun(workspace, "checkpoint_every=18", OPTREPRO_FAULT="kill-after-step:50")
    assert killed.returncode != 0
    resumed = workspace.run(RUN)
    assert resumed.returncode == 0, resumed.describe()
    assert "resuming" in resumed.stdout and "from step 36" in resumed.stdout
    assert_same_training(resumed.run_dir, single)


@pytest.mark.slow
def test_a_global_batch_that_ranks_cannot_share_is_refused_before_anything_is_written(
    tmp_path,
) -> None:
    workspace = Workspace.create(tmp_path)
    done = torchrun(workspace, "task.batch_size=33")
    assert done.returncode != 0
    assert "task.batch_size=33 is invalid with 2 ranks" in done.stderr
    assert "exitcode  : 2" in done.stderr, "each rank exits 2 (torchrun then reports failure)"
    assert workspace.run_dirs() == [] and not any(workspace.runs_dir.rglob("lock"))
