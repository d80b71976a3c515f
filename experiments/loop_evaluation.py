"""The loop's evaluations: ``evaluate`` (every split's metrics, summed on the device and over
ranks), ``run_evaluation`` (one evaluation during or at the end of training, recorded and shown
to the schedule and the optimizer) and ``evaluate_average`` (the final evaluation of the average
of the last parameter snapshots, ``avg/…``, for checkpoint averaging).

A stop signal abandons an evaluation (``EvaluationStopped``): nothing of it is recorded, the
loop checkpoints the training state (the evaluation counter and ``evaluated_at`` unchanged), and
the resumed run redoes the evaluation. With one process the signal is looked at before every
batch (a beam-search batch is not cut short); with several ranks (whose batch counts may differ)
before every split, where the ranks agree on it (a collective). The final evaluations stop only
for a signal received once they began: one received after the last update, before them, leaves
the run finished.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

import torch
from torch import nn

from experiments.distributed import World, agree, broadcast_from_main
from experiments.loop_events import LoopEvents
from experiments.loop_meters import StatSums
from experiments.loop_options import LoopOptions
from experiments.loop_state import LoopState
from experiments.runs import faults, snapshots
from experiments.runs.prepare import PreparedRun
from experiments.runs.signals import StopSignals
from experiments.tasks.contract import Evaluation, Task


class EvaluationStopped(Exception):
    """A stop signal arrived during an evaluation, which was abandoned."""


def stop_checks(
    stop: Callable[[], bool] | None, world: World, device: torch.device
) -> tuple[Callable[[], bool], Callable[[], bool]]:
    """What ``evaluate`` asks before each batch and before each split: whether to stop. One
    process asks ``stop`` before each batch; several ranks agree before each split (a
    collective: every rank evaluates every split, not always the same number of batches)."""

    def never() -> bool:
        return False

    if stop is None:
        return never, never
    if world.distributed:
        return never, lambda: agree(stop(), world, device)
    return stop, never


def evaluate(
    task: Task,
    model: nn.Module,
    world: World,
    device: torch.device,
    options: LoopOptions,
    evaluation: Evaluation,
    prefix: str = "",
    stop: Callable[[], bool] | None = None,
) -> dict[str, float]:
    """Every split's metrics: the task's statistics summed on the device and over ranks. Raises
    ``EvaluationStopped`` once ``stop()`` is true (a cheap check: asked between batches)."""
    metrics: dict[str, float] = {}
    before_batch, before_split = stop_checks(stop, world, device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), options.eval_autocast(device):
            for split in task.eval_splits:
                if before_split():
                    raise EvaluationStopped
                totals = StatSums(device)
                for index, batch in enumerate(task.eval_batches(split, world)):
                    if before_batch():
                        raise EvaluationStopped
                    totals.add(task.eval_step(model, batch.to(device), evaluation))
                    if index == 0:
                        faults.signal_during_evaluation(evaluation.number)
                summed = totals.reduce(world)
                for key, value in task.eval_metrics(split, summed, evaluation).items():
                    metrics[prefix + key] = value
    finally:
        model.train(was_training)
    return metrics


def run_evaluation(
    prepared: PreparedRun,
    world: World,
    state: LoopState,
    events: LoopEvents,
    final: bool,
    stop: StopSignals | None = None,
) -> bool:
    """Evaluate after ``state.update`` updates; record the metrics, keep them in the loop state
    (final, best, at_best) and show them to the schedule and the optimizer. Optimizers driven by
    evaluations (NT-ASGD switches to averaging when the validation loss stalls) expose
    ``observe(metrics)``; averaging ones evaluate with their averaged parameters. Returns False
    when a stop signal abandoned it: then nothing changed (not even ``state.evaluations``). The
    final evaluation stops only for a signal received once it began (``StopSignals.arrived``)."""
    task, optimizer = prepared.task, prepared.optimizer
    number = state.evaluations + 1
    every = task.full_eval_every
    full = final or (every is not None and number % every == 0)
    evaluation = Evaluation(number, final, full, state.trained_means())
    stopping = stop.arrived(from_now=final) if stop is not None else None
    try:
        with getattr(optimizer, "averaged_parameters", nullcontext)():
            metrics = evaluate(
                task, prepared.model, world, prepared.device, prepared.options, evaluation,
                stop=stopping,
            )  # fmt: skip
    except EvaluationStopped:
        return False
    state.evaluations = number
    events.evaluation(state.update, metrics)
    state.record_evaluation(metrics, task.selection, prepared.calendar.epoch_float(state.update))
    prepared.schedule.observe(metrics)
    if hasattr(optimizer, "observe"):
        optimizer.observe(metrics)
    return True


def evaluate_average(
    prepared: PreparedRun,
    world: World,
    state: LoopState,
    events: LoopEvents,
    stop: StopSignals | None = None,
) -> bool:
    """Load the average of the last ``task.average.last`` snapshots into the model and evaluate
    it (``avg/…`` metrics, also in the summary's ``final``); nothing without checkpoint
    averaging, or when the run stopped before its first snapshot. Returns False when a stop
    signal received once it began abandoned it (the model then holds the average: checkpoint
    nothing after it)."""
    task, model = prepared.task, prepared.model
    if task.average is None:
        return True
    broadcast_from_main(None, world)  # every rank sees rank 0's snapshots
    paths = snapshots.snapshot_paths(prepared.run.path)[-task.average.last :]
    if not paths:
        return True
    model.load_state_dict(snapshots.average(paths))
    evaluation = Evaluation(state.evaluations + 1, final=True, full=True)
    stopping = stop.arrived(from_now=True) if stop is not None else None
    try:
        averaged = evaluate(
            task, model, world, prepared.device, prepared.options, evaluation, "avg/", stopping
        )
    except EvaluationStopped:
        return False
    events.record(state.update, {**averaged, "avg/snapshots": len(paths)})
    events.progress.evaluation(state.update, averaged)
    state.final = {**state.final, **averaged}
    return True
