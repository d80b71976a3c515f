"""What the loop does after an update, decided in one place (``plan_update``): log, evaluate,
snapshot the parameters for checkpoint averaging, checkpoint, stop on a signal, leave the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from experiments.distributed import World, agree
from experiments.loop_options import LoopOptions
from experiments.loop_state import LoopState
from experiments.runs.signals import StopSignals
from experiments.tasks.contract import CheckpointAverage


@dataclass(frozen=True)
class UpdatePlan:
    log: bool
    """A log point: the window's ``train/…`` event and a progress line."""
    evaluate: bool
    final: bool
    """The run's last update: its evaluation is the final one."""
    snapshot: bool
    """Keep the parameters for checkpoint averaging."""
    checkpoint: bool
    stop: bool
    """A stop signal arrived (before the last update: after it the run is finished, unless the
    signal abandoned the final evaluation, ``interrupted``)."""
    leave_epoch: bool
    """The epoch (or the run) ends here."""

    @property
    def pause(self) -> bool:
        """Whether the loop reads the device and parameters are recorded: the training time
        stops, and a non-finite update before it ends the run first."""
        return self.evaluate or self.snapshot or self.checkpoint

    def interrupted(self) -> UpdatePlan:
        """The plan once a stop signal abandoned this update's evaluation: the rest of it (the
        snapshot) still happens, then a checkpoint, then the run stops (even after the last
        update: the resumed run redoes the evaluation, see ``evaluation_pending``)."""
        return replace(self, checkpoint=True, stop=True)


def evaluation_due(update: int, end_of_epoch: bool, total: int, options: LoopOptions) -> bool:
    """Whether the loop evaluates after ``update``: every ``eval_every`` updates (or at each
    epoch end) and after the last one."""
    if options.eval_every is None:
        return end_of_epoch or update == total
    return update % options.eval_every == 0 or update == total


def evaluation_pending(state: LoopState, total: int, options: LoopOptions) -> bool:
    """Whether a resumed run restarts at an update (before the last) whose evaluation a stop
    signal abandoned (``UpdatePlan.interrupted``): that evaluation was due and none was recorded
    there (a checkpoint after a completed plan always follows its evaluation). ``position`` 0
    after an update means it ended its epoch. After the last update the loop's final evaluation
    runs anyway whenever none was recorded there."""
    if state.update in (0, total) or state.evaluated_at == state.update:
        return False
    return evaluation_due(state.update, state.position == 0, total, options)


def plan_update(
    update: int,
    end_of_epoch: bool,
    total: int,
    options: LoopOptions,
    average: CheckpointAverage | None,
    stop: StopSignals,
    world: World,
    device: torch.device,
) -> UpdatePlan:
    """The plan after ``update`` (of ``total``). With several ranks, a stop signal counts at
    log points only, where the ranks agree on it (a collective, so never per update)."""
    last = update == total
    log = update % options.log_every == 0 or last
    stopping = stop.received is not None
    if world.distributed:
        stopping = log and agree(stopping, world, device)
    evaluate = evaluation_due(update, end_of_epoch, total, options)
    snapshot = average is not None and (
        end_of_epoch if average.every is None else update % average.every == 0
    )
    checkpoint = update % options.checkpoint_every == 0 or last or stopping
    stopping_early = stopping and not last
    return UpdatePlan(
        log, evaluate, last, snapshot, checkpoint, stopping_early, last or end_of_epoch
    )
