"""What the loop does after an update, decided in one place (``plan_update``): log, evaluate,
snapshot the parameters for checkpoint averaging, checkpoint, stop on a signal, leave the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from experiments.distributed import World, agree
from experiments.loop_options import LoopOptions
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
    """A stop signal arrived (before the last update; after it the run is finished)."""
    leave_epoch: bool
    """The epoch (or the run) ends here."""

    @property
    def pause(self) -> bool:
        """Whether the loop reads the device and parameters are recorded: the training time
        stops, and a non-finite update before it ends the run first."""
        return self.evaluate or self.snapshot or self.checkpoint


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
    if options.eval_every is None:
        evaluate = end_of_epoch or last
    else:
        evaluate = update % options.eval_every == 0 or last
    snapshot = average is not None and (
        end_of_epoch if average.every is None else update % average.every == 0
    )
    checkpoint = update % options.checkpoint_every == 0 or last or stopping
    stopping_early = stopping and not last
    return UpdatePlan(
        log, evaluate, last, snapshot, checkpoint, stopping_early, last or end_of_epoch
    )
