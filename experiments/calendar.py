"""The run's calendar: how many updates each epoch has, and which epoch an update falls in; and
what it means for checkpoint averaging (``check_average``: the snapshots the budget and the run
take).

An epoch has ``task.micro_batches_per_epoch(epoch, world)`` global micro-batches (one batch of
every rank together) and ``ceil(micro_batches / update_freq)`` optimizer updates (fairseq's
grouped iterator: an epoch's last update may accumulate fewer micro-batches). Epochs may differ
in length (AWD-LSTM's random BPTT lengths): the calendar holds every epoch of the budget, so
schedules with epoch milestones and the ``epoch`` of each logged event stay exact.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from experiments.config_checks import ConfigError
from experiments.distributed import World
from experiments.tasks.contract import CheckpointAverage, Task


@dataclass(frozen=True)
class Calendar:
    micro_batches_per_epoch: tuple[int, ...]
    """Global micro-batches (one batch of every rank together) of each epoch of the budget."""
    updates_per_epoch: tuple[int, ...]
    starts: tuple[int, ...]
    """Updates done before each epoch."""
    budget_updates: int
    """Updates of the recipe's budget: what schedules are shaped by."""
    total: int
    """Updates this run trains (the budget, capped by ``max_steps``)."""

    @classmethod
    def plan(cls, task: Task, world: World, update_freq: int, max_steps: int | None) -> Calendar:
        budget = task.budget
        micro_batches: list[int] = []
        updates: list[int] = []
        starts: list[int] = []
        done = 0
        while (budget.epochs is None or len(micro_batches) < budget.epochs) and (
            budget.updates is None or done < budget.updates
        ):
            epoch = len(micro_batches)
            count = task.micro_batches_per_epoch(epoch, world)
            if count < 1:
                raise ConfigError(
                    f"task {type(task).__name__} has no training batches in epoch {epoch}: "
                    "the training data is smaller than one batch"
                )
            starts.append(done)
            micro_batches.append(count)
            updates.append(-(-count // update_freq))
            done += updates[-1]
        if not micro_batches:
            raise ConfigError("the task's budget is zero: task.epochs or task.max_updates >= 1")
        budget_updates = done if budget.updates is None else min(done, budget.updates)
        total = budget_updates if max_steps is None else min(budget_updates, max_steps)
        return cls(tuple(micro_batches), tuple(updates), tuple(starts), budget_updates, total)

    @property
    def uniform(self) -> bool:
        return len(set(self.updates_per_epoch)) == 1

    def epoch_of(self, update: int) -> int:
        """The 0-based epoch of the 1-based update ``update``."""
        return max(bisect.bisect_right(self.starts, update - 1) - 1, 0)

    def epoch_float(self, update: int) -> float:
        """Epochs completed after ``update`` updates (1.0 at the end of the first epoch)."""
        if self.uniform:
            return update / self.updates_per_epoch[0]
        epoch = max(bisect.bisect_right(self.starts, update) - 1, 0)
        return epoch + (update - self.starts[epoch]) / self.updates_per_epoch[epoch]

    def snapshots(self, average: CheckpointAverage, updates: int) -> int:
        """The snapshots the loop takes in the first ``updates`` updates: one at each epoch end,
        or every ``average.every`` updates (``experiments.loop_plan.plan_update``)."""
        if average.every is not None:
            return updates // average.every
        ends = zip(self.starts, self.updates_per_epoch, strict=True)
        return sum(1 for start, count in ends if start + count <= updates)


def check_average(average: CheckpointAverage | None, calendar: Calendar) -> str | None:
    """``task.average.last`` against the calendar, for any task that averages checkpoints.

    Refused (``ConfigError``) above the snapshots the recipe's full budget takes: averaging fewer
    than asked would report another statistic than the recipe names (fairseq's
    ``average_checkpoints.py --num-epoch-checkpoints`` reads that many). Returns the warning for a
    run that ``max_steps`` stops before the last of them (its averaged metrics are partial,
    ``avg/partial`` in ``experiments.loop_evaluation.evaluate_average``), else None."""
    if average is None:
        return None
    budget = calendar.budget_updates
    taken = calendar.snapshots(average, budget)
    if average.last > taken:
        rule = (
            "one at each epoch end"
            if average.every is None
            else f"one every {average.every:,} updates"
        )
        raise ConfigError(
            f"task.average.last={average.last} is invalid: the recipe's budget "
            f"({len(calendar.updates_per_epoch):,} epochs, {budget:,} updates) takes {taken} "
            f"snapshots ({rule}): at most {taken}, or a longer budget"
        )
    kept = calendar.snapshots(average, calendar.total)
    if kept >= average.last:
        return None
    outcome = f"partial ({kept} snapshots)" if kept else "absent (no snapshot is taken)"
    return (
        f"warning: max_steps={calendar.total} stops before the {average.last} snapshots "
        f"task.average.last averages: the averaged metrics will be {outcome}"
    )
