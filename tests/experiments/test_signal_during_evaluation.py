"""A stop signal during an evaluation is honoured at the next evaluation batch: the evaluation
is abandoned (nothing of it recorded), the training state is checkpointed so that the resumed
run redoes it, the run is ``interrupted`` (exit 1), and the resumed run ends exactly as an
uninterrupted one. The signal is a real SIGTERM the process sends itself after the first batch
of the chosen evaluation (``OPTREPRO_FAULT=signal-during-eval:<number>:SIGTERM``). With several
ranks the ranks agree on it before each split."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from experiments.distributed import SINGLE_PROCESS
from experiments.loop_evaluation import EvaluationStopped, evaluate
from experiments.loop_options import LoopOptions
from experiments.loop_plan import evaluation_pending
from experiments.loop_state import LoopState
from experiments.runs.signals import StopSignals
from experiments.tasks.contract import Evaluation
from tests.experiments.cli import (
    Workspace,
    assert_same_run,
    assert_trains_like,
    read_metrics,
    read_summary,
    train_env,
)

EVALUATING = (
    "max_steps=30",
    "log_every=1",
    "eval_every=10",
    "checkpoint_every=7",
    "device=cpu",
    "deterministic=true",
)
"""Evaluations at 10, 20 and 30 (the final one); checkpoints at 7, 14, 21, 28 and 30, so the
checkpoint at an interrupted evaluation is the one the signal asked for."""


def evaluated_steps(run_dir: Path) -> list[int]:
    return [event["step"] for event in read_metrics(run_dir) if "val/acc" in event]


@pytest.mark.parametrize(
    ("number", "step"),
    [pytest.param(2, 20, id="second"), pytest.param(3, 30, id="final", marks=pytest.mark.slow)],
)
def test_a_signal_during_an_evaluation_abandons_it_and_the_resume_redoes_it(
    workspace: Workspace, reference_run: Callable[..., Path], number: int, step: int
) -> None:
    fault = train_env(OPTREPRO_FAULT=f"signal-during-eval:{number}:SIGTERM")
    interrupted = workspace.run(EVALUATING, env=fault)
    assert interrupted.returncode == 1, interrupted.describe()
    assert interrupted.run_dir is not None
    summary = read_summary(interrupted.run_dir)
    assert summary["status"] == "interrupted"
    assert summary["steps"] == step
    assert f"interrupted by signal 15 at step {step}" in interrupted.stdout
    assert "Traceback" not in interrupted.stdout + interrupted.stderr
    assert evaluated_steps(interrupted.run_dir) == [10, 20][: number - 1], "nothing recorded"
    saved = torch.load(interrupted.run_dir / "checkpoint.pt", weights_only=True)
    assert saved["step"] == step, "checkpointed where the evaluation was abandoned"
    assert saved["loop"]["evaluations"] == number - 1
    assert saved["loop"]["evaluated_at"] == step - 10

    resumed = workspace.run(EVALUATING)
    assert resumed.returncode == 0, resumed.describe()
    assert read_summary(interrupted.run_dir)["status"] == "finished"
    assert evaluated_steps(interrupted.run_dir) == [10, 20, 30]
    assert_same_run(interrupted.run_dir, reference_run(EVALUATING))


@pytest.mark.slow
def test_ranks_agree_on_a_signal_one_rank_got_during_an_evaluation(
    workspace: Workspace, reference_run: Callable[..., Path]
) -> None:
    """Only rank 1 is signalled, during the 2nd evaluation: both ranks abandon it before the
    next split, checkpoint and stop; the run then resumes on one process. (Evaluation batches of
    64: rank 1 has some of every split.)"""
    overrides = (*EVALUATING, "task.eval_batch_size=64")
    fault = train_env(OPTREPRO_FAULT="signal-during-eval:2:SIGTERM:1")
    interrupted = workspace.torchrun(overrides, env=fault)
    assert interrupted.returncode != 0, interrupted.describe()
    assert interrupted.run_dir is not None
    assert read_summary(interrupted.run_dir)["status"] == "interrupted"
    assert evaluated_steps(interrupted.run_dir) == [10]
    saved = torch.load(interrupted.run_dir / "checkpoint.pt", weights_only=True)
    assert (saved["step"], saved["loop"]["evaluations"]) == (20, 1)

    resumed = workspace.run(overrides)
    assert resumed.returncode == 0, resumed.describe()
    assert evaluated_steps(interrupted.run_dir) == [10, 20, 30]
    assert_trains_like(interrupted.run_dir, reference_run(overrides), same_epochs=True)


class FakeBatch(SimpleNamespace):
    def to(self, device: torch.device) -> FakeBatch:
        return self


class CountingTask:
    """Two splits of three batches each; counts the batches it evaluates."""

    eval_splits = ("val", "test")

    def __init__(self) -> None:
        self.evaluated = 0

    def eval_batches(self, split: str, world: object) -> Iterator[FakeBatch]:
        return iter([FakeBatch(), FakeBatch(), FakeBatch()])

    def eval_step(self, model: nn.Module, batch: FakeBatch, evaluation: Evaluation) -> dict:
        self.evaluated += 1
        return {"count": 1.0}

    def eval_metrics(self, split: str, totals: dict, evaluation: Evaluation) -> dict:
        return {f"{split}/count": totals["count"]}


def test_evaluate_stops_before_the_next_batch_and_restores_training_mode() -> None:
    task, model, cpu = CountingTask(), nn.Linear(1, 1), torch.device("cpu")
    evaluation = Evaluation(1, final=False, full=False)

    def run(stop: Callable[[], bool] | None) -> dict[str, float]:
        return evaluate(task, model, SINGLE_PROCESS, cpu, LoopOptions(), evaluation, stop=stop)  # type: ignore[arg-type]

    assert run(None) == {"val/count": 3.0, "test/count": 3.0}
    task.evaluated = 0
    with pytest.raises(EvaluationStopped):
        run(lambda: task.evaluated >= 2)
    assert task.evaluated == 2, "stopped before the third batch"
    assert model.training


def test_the_final_evaluations_stop_only_for_a_signal_received_once_they_began() -> None:
    stop = StopSignals()
    stop._record(signal.SIGTERM, None)
    assert stop.arrived()(), "any signal stops an evaluation during training"
    final = stop.arrived(from_now=True)
    assert not final(), "a signal after the last update, before the final evaluation"
    stop._record(signal.SIGTERM, None)
    assert final()


def test_a_resumed_run_redoes_only_an_evaluation_that_was_due_and_not_recorded() -> None:
    every_10 = LoopOptions(eval_every=10)
    assert evaluation_pending(LoopState(update=20, position=5, evaluated_at=10), 30, every_10)
    assert not evaluation_pending(LoopState(update=20, position=5, evaluated_at=20), 30, every_10)
    assert not evaluation_pending(LoopState(update=21, position=5, evaluated_at=20), 30, every_10)
    assert not evaluation_pending(LoopState(update=30, position=5, evaluated_at=20), 30, every_10)
    assert not evaluation_pending(LoopState(), 30, every_10), "a new run"
    at_epoch_ends = LoopOptions(eval_every=None)
    assert evaluation_pending(LoopState(update=40, epoch=1, evaluated_at=-1), 80, at_epoch_ends)
    assert not evaluation_pending(LoopState(update=39, position=39), 80, at_epoch_ends)
