"""The loop's evaluations: ``evaluate`` (every split's metrics, summed on the device and over
ranks), ``run_evaluation`` (one evaluation during or at the end of training, recorded and shown
to the schedule and the optimizer) and ``evaluate_average`` (the final evaluation of the average
of the last parameter snapshots, ``avg/…``, for checkpoint averaging).

A stop signal abandons an evaluation (``EvaluationStopped``): nothing of it is recorded, the
loop checkpoints the training state (the evaluation counter and ``evaluated_at`` unchanged), and
the resumed run redoes the evaluation. With one process the signal is looked at before every
batch, and inside a long one where the task asks ``Evaluation.stop`` (beam search, between
decoding steps); with several ranks (whose batch counts may differ) before every split, where the
ranks agree on it (a collective). The final evaluations stop only
for a signal received once they began: one received after the last update, before them, leaves
the run finished.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import replace

import torch
from torch import nn

from experiments.distributed import World, agree, broadcast_from_main
from experiments.loop_events import LoopEvents
from experiments.loop_meters import StatSums
from experiments.loop_options import LoopOptions
from experiments.loop_state import LoopState
from experiments.runs import checkpoint, faults, snapshots
from experiments.runs.prepare import PreparedRun
from experiments.runs.signals import StopSignals
from experiments.tasks.contract import Evaluation, EvaluationStopped, Task


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
    ``EvaluationStopped`` once ``stop()`` is true (a cheap check: asked between batches, and by
    the task inside a batch through ``Evaluation.stop``)."""
    metrics: dict[str, float] = {}
    before_batch, before_split = stop_checks(stop, world, device)
    evaluation = replace(evaluation, stop=before_batch)
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


def recompute_batchnorm(
    task: Task, model: nn.Module, world: World, device: torch.device, options: LoopOptions,
    batches: int,
) -> None:  # fmt: skip
    """BatchNorm running statistics recomputed at the model's current weights: reset, then the
    cumulative mean over the first ``batches`` training batches of epoch 0, forward only in
    train mode (torch.optim.swa_utils.update_bn's method; the schedulefree README's "right
    before eval" recipe). Epoch 0's first batches exist at any point of any run."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    was_training = model.training
    model.train()
    try:
        with torch.no_grad(), options.autocast(device):
            for batch in itertools.islice(task.train_batches(0, 0, world), batches):
                task.train_step(model, batch.to(device))
    finally:
        model.train(was_training)
        for norm, momentum in zip(norms, momenta, strict=True):
            norm.momentum = momentum


def refreshes_batchnorm(prepared: PreparedRun) -> bool:
    """Whether ``evaluated_weights`` recomputes BatchNorm statistics on training batches: the
    optimizer asks for it (``batchnorm_batches``) and the model has BatchNorm layers. The loop
    then restarts the epoch's batches from its position after an evaluation or a snapshot, as a
    resume does: a second pass over a data loader with persistent workers resets its iterator."""
    norms = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in prepared.model.modules())
    return norms and bool(getattr(prepared.optimizer, "batchnorm_batches", 0))


@contextmanager
def evaluated_weights(prepared: PreparedRun, world: World) -> Iterator[None]:
    """Inside: the weights the run evaluates and snapshots for checkpoint averaging. Those are
    the optimizer's ``averaged_parameters()`` where it has them (NT-ASGD's average,
    Schedule-Free's x sequence); an optimizer declaring ``batchnorm_batches`` (Schedule-Free
    AdamW: statistics gathered at y are wrong at x) also gets the BatchNorm statistics
    recomputed at those weights (``recompute_batchnorm``). On exit training is as it was: the
    parameters, the BatchNorm buffers, every RNG state and the task's state are put back."""
    model, task, optimizer = prepared.model, prepared.task, prepared.optimizer
    with getattr(optimizer, "averaged_parameters", nullcontext)():
        if not refreshes_batchnorm(prepared):
            yield
            return
        buffers = {name: value.clone() for name, value in model.named_buffers()}
        rng, task_state = checkpoint.rng_state(), copy.deepcopy(task.state_dict())
        try:
            batches = optimizer.batchnorm_batches
            recompute_batchnorm(task, model, world, prepared.device, prepared.options, batches)
            yield
        finally:
            with torch.no_grad():
                for name, value in model.named_buffers():
                    value.copy_(buffers[name])
            checkpoint.set_rng_state(rng)
            task.load_state_dict(task_state)


def run_evaluation(
    prepared: PreparedRun,
    world: World,
    state: LoopState,
    events: LoopEvents,
    final: bool,
    stop: StopSignals | None = None,
    untallied_units: float = 0.0,
) -> bool:
    """Evaluate after ``state.update`` updates; record the metrics, keep them in the loop state
    (final, best, at_best, the first hit of ``prepared.target`` with the training time so far
    and the units trained: ``state.units`` plus the open log window's ``untallied_units``) and
    show them to the schedule and the optimizer. Optimizers driven by
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
        with evaluated_weights(prepared, world):
            metrics = evaluate(
                task, prepared.model, world, prepared.device, prepared.options, evaluation,
                stop=stopping,
            )  # fmt: skip
    except EvaluationStopped:
        return False
    state.evaluations = number
    events.evaluation(state.update, metrics)
    epoch = prepared.calendar.epoch_float(state.update)
    state.record_evaluation(metrics, task.selection, epoch)
    units = state.units + untallied_units
    state.record_target(prepared.target, metrics, epoch, events.clock.training, units)
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
    it (``avg/…`` metrics, also in the summary's ``final``, with ``avg/partial``: whether fewer
    snapshots than ``task.average.last`` were taken, ``max_steps`` having stopped the run before
    the last); nothing without checkpoint averaging, or when the run stopped before its first
    snapshot. Returns False when a stop
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
    partial = len(paths) < task.average.last  # max_steps stopped before the last snapshot
    events.record(state.update, {**averaged, "avg/snapshots": len(paths), "avg/partial": partial})
    note = f" (partial: {len(paths)} of {task.average.last} snapshots)" if partial else ""
    events.progress.evaluation(state.update, averaged, note)
    state.final = {**state.final, **averaged, "avg/partial": partial}
    return True
