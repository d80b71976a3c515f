"""The loop's evaluations: ``evaluate`` (every split's metrics, summed on the device and over
ranks), ``run_evaluation`` (one evaluation during or at the end of training, recorded and shown
to the schedule and the optimizer) and ``evaluate_average`` (the final evaluation of the average
of the last parameter snapshots, ``avg/…``, for checkpoint averaging)."""

from __future__ import annotations

from contextlib import nullcontext

import torch
from torch import nn

from experiments.distributed import World, broadcast_from_main
from experiments.loop_events import LoopEvents
from experiments.loop_meters import StatSums
from experiments.loop_options import LoopOptions
from experiments.loop_state import LoopState
from experiments.runs import snapshots
from experiments.runs.prepare import PreparedRun
from experiments.tasks.contract import Evaluation, Task


def evaluate(
    task: Task,
    model: nn.Module,
    world: World,
    device: torch.device,
    options: LoopOptions,
    evaluation: Evaluation,
    prefix: str = "",
) -> dict[str, float]:
    """Every split's metrics: the task's statistics summed on the device and over ranks."""
    metrics: dict[str, float] = {}
    was_training = model.training
    model.eval()
    with torch.no_grad(), options.eval_autocast(device):
        for split in task.eval_splits:
            totals = StatSums(device)
            for batch in task.eval_batches(split, world):
                totals.add(task.eval_step(model, batch.to(device), evaluation))
            for key, value in task.eval_metrics(split, totals.reduce(world), evaluation).items():
                metrics[prefix + key] = value
    model.train(was_training)
    return metrics


def run_evaluation(
    prepared: PreparedRun, world: World, state: LoopState, events: LoopEvents, final: bool
) -> None:
    """Evaluate after ``state.update`` updates; record the metrics, keep them in the loop state
    (final, best, at_best) and show them to the schedule and the optimizer. Optimizers driven by
    evaluations (NT-ASGD switches to averaging when the validation loss stalls) expose
    ``observe(metrics)``; averaging ones evaluate with their averaged parameters."""
    task, optimizer = prepared.task, prepared.optimizer
    state.evaluations += 1
    every = task.full_eval_every
    full = final or (every is not None and state.evaluations % every == 0)
    evaluation = Evaluation(state.evaluations, final, full, state.trained_means())
    with getattr(optimizer, "averaged_parameters", nullcontext)():
        metrics = evaluate(
            task, prepared.model, world, prepared.device, prepared.options, evaluation
        )
    events.evaluation(state.update, metrics)
    state.record_evaluation(metrics, task.selection, prepared.calendar.epoch_float(state.update))
    prepared.schedule.observe(metrics)
    if hasattr(optimizer, "observe"):
        optimizer.observe(metrics)


def evaluate_average(
    prepared: PreparedRun, world: World, state: LoopState, events: LoopEvents
) -> None:
    """Load the average of the last ``task.average.last`` snapshots into the model and evaluate
    it (``avg/…`` metrics, also in the summary's ``final``); nothing without checkpoint
    averaging, or when the run stopped before its first snapshot."""
    task, model = prepared.task, prepared.model
    if task.average is None:
        return
    broadcast_from_main(None, world)  # every rank sees rank 0's snapshots
    paths = snapshots.snapshot_paths(prepared.run.path)[-task.average.last :]
    if not paths:
        return
    model.load_state_dict(snapshots.average(paths))
    evaluation = Evaluation(state.evaluations + 1, final=True, full=True)
    averaged = evaluate(task, model, world, prepared.device, prepared.options, evaluation, "avg/")
    events.record(state.update, {**averaged, "avg/snapshots": len(paths)})
    events.progress.evaluation(state.update, averaged)
    state.final = {**state.final, **averaged}
