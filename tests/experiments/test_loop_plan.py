"""What the loop does after an update is decided in one place (``experiments.loop_plan``)."""

from __future__ import annotations

import signal

import torch

from experiments.distributed import SINGLE_PROCESS
from experiments.loop_options import LoopOptions
from experiments.loop_plan import UpdatePlan, plan_update
from experiments.runs.signals import StopSignals
from experiments.tasks.contract import CheckpointAverage

OPTIONS = LoopOptions(log_every=5, eval_every=None, checkpoint_every=20)
CPU = torch.device("cpu")


def plan(update: int, end_of_epoch: bool = False, **changes) -> UpdatePlan:
    stop = changes.pop("stop", StopSignals())
    average = changes.pop("average", None)
    options = LoopOptions(**{**vars(OPTIONS), **changes})
    return plan_update(update, end_of_epoch, 40, options, average, stop, SINGLE_PROCESS, CPU)


def test_an_ordinary_update_does_nothing_else() -> None:
    assert plan(3) == UpdatePlan(False, False, False, False, False, False, False)
    assert not plan(3).pause


def test_every_n_settings_and_the_epoch_end() -> None:
    assert plan(5).log and not plan(5).pause
    assert plan(7, end_of_epoch=True).evaluate and plan(7, end_of_epoch=True).leave_epoch
    assert plan(6, eval_every=3).evaluate and not plan(7, eval_every=3, end_of_epoch=True).evaluate
    assert plan(20).checkpoint and plan(20).pause


def test_the_last_update_logs_evaluates_checkpoints_and_ends() -> None:
    last = plan(40)
    assert last.log and last.evaluate and last.final and last.checkpoint and last.leave_epoch
    assert not last.stop


def test_snapshots_for_checkpoint_averaging() -> None:
    assert plan(8, end_of_epoch=True, average=CheckpointAverage(last=3)).snapshot
    assert not plan(8, average=CheckpointAverage(last=3)).snapshot
    assert plan(8, average=CheckpointAverage(last=3, every=4)).snapshot
    assert not plan(8, end_of_epoch=True).snapshot


def test_a_stop_signal_checkpoints_and_stops_before_the_last_update() -> None:
    stop = StopSignals()
    stop.received = signal.SIGTERM
    stopping = plan(3, stop=stop)
    assert stopping.stop and stopping.checkpoint and stopping.pause
    assert not plan(40, stop=stop).stop, "after the last update the run is finished"
