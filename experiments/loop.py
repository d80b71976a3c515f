"""The training loop (nanoGPT style: ``train`` is one function read top to bottom); step 5 of
"One run, end to end" in ``docs/architecture.md``. What happens after each update is decided in
``experiments.loop_plan``; nothing reads the device between log points (``loop_meters``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import torch
from omegaconf import DictConfig
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from experiments.distributed import World
from experiments.lifecycle_close import close_run, describe_failure

# experiments.loop.evaluate stays importable (the language-model tests, the GPU check)
from experiments.loop_evaluation import evaluate as evaluate
from experiments.loop_evaluation import (
    evaluate_average,
    evaluated_weights,
    refreshes_batchnorm,
    run_evaluation,
)
from experiments.loop_events import LoopEvents
from experiments.loop_meters import TrainingClock, TrainMeter
from experiments.loop_options import LoopOptions
from experiments.loop_plan import evaluation_pending, plan_update
from experiments.loop_state import LoopState
from experiments.lr_probe import LearningRateProbe, build_probe
from experiments.progress import Progress, run_label, shown_metrics
from experiments.runs import checkpoint, faults, snapshots
from experiments.runs.identity import scientific_config
from experiments.runs.prepare import PreparedRun
from experiments.runs.recorder import Recorder
from experiments.runs.signals import StopSignals
from experiments.tasks.contract import Batch, Task


def micro_batches(batches: Iterator[Batch], update_freq: int) -> Iterator[list[Batch]]:
    """The batches of one epoch grouped by update (the epoch's last group may be shorter)."""
    group: list[Batch] = []
    for batch in batches:
        group.append(batch)
        if len(group) == update_freq:
            yield group
            group = []
    if group:
        yield group


def accumulate_gradients(
    task: Task,
    forward: nn.Module,
    group: list[Batch],
    update: int,
    meter: TrainMeter,
    device: torch.device,
    world: World,
    options: LoopOptions,
) -> None:
    """The gradient of one update: each micro-batch's summed loss divided by the units of the
    whole update (every micro-batch of every rank) and multiplied by the world size that DDP's
    gradient average divides by, so W ranks equal one process accumulating their W batches."""
    normaliser = max(sum(batch.global_units for batch in group), 1) / world.world_size
    for index, batch in enumerate(group):
        batch = batch.to(device)
        accumulating = world.distributed and index < len(group) - 1
        with forward.no_sync() if accumulating else nullcontext():
            with options.autocast(device):
                loss_sum, stats = task.train_step(forward, batch)
            (loss_sum / normaliser).backward()
        meter.add(update, loss_sum, batch.global_units, stats)


def forward_module(
    model: nn.Module, world: World, device: torch.device, options: LoopOptions
) -> nn.Module:
    """What the micro-batches run through: the model, inside DistributedDataParallel with
    several ranks, compiled when the recipe asks."""
    forward: nn.Module = model
    if world.distributed:
        forward = DistributedDataParallel(
            model, device_ids=[device] if device.type == "cuda" else None
        )
    if options.compile:
        torch.use_deterministic_algorithms(  # also inductor's copy of the flag
            torch.are_deterministic_algorithms_enabled(), warn_only=True
        )
        forward = torch.compile(forward)
    return forward


def set_learning_rate(
    optimizer: torch.optim.Optimizer, base_lrs: list[float], factor: float
) -> None:
    for group, base_lr in zip(optimizer.param_groups, base_lrs, strict=True):
        group["lr"] = base_lr * factor


def clip_gradients(model: nn.Module, options: LoopOptions) -> torch.Tensor | None:
    """The global gradient norm before clipping (None: the recipe does not clip)."""
    if options.clip_grad_norm is None:
        return None
    return nn.utils.clip_grad_norm_(model.parameters(), options.clip_grad_norm)


def log_point(
    prepared: PreparedRun,
    world: World,
    state: LoopState,
    meter: TrainMeter,
    events: LoopEvents,
    probe: LearningRateProbe | None,
) -> int | None:
    """Read the log window (a collective), record its ``train/…`` event and show a progress
    line; returns the window's first non-finite update, if any (no event covers a later one)."""
    update = state.update
    window = meter.read(world)
    seconds = events.clock.lap()
    state.units += window.units
    state.add_window(window.means)
    values = prepared.task.train_metrics(window.means)
    if window.grad_norm is not None:
        values["train/grad_norm"] = window.grad_norm
    values["train/lr"] = prepared.optimizer.param_groups[0]["lr"]
    if probe is not None:
        values.update(probe.step_event())
    if window.diverged_at in (None, update):
        events.record(update, values)
    if window.diverged_at is None:
        epoch = prepared.calendar.epoch_float(update)
        events.progress.update(update, epoch, values, window.units / max(seconds, 1e-9))
    return window.diverged_at


def save_checkpoint(
    prepared: PreparedRun,
    world: World,
    state: LoopState,
    meter: TrainMeter,
    events: LoopEvents,
    config: dict[str, Any],
) -> None:
    """Every rank saves the open log window's sums (a collective); rank 0 writes the checkpoint
    (``metrics.jsonl`` is made durable first: the checkpoint records its length)."""
    state.window = meter.state(world)
    events.clock.record(state)
    if world.is_main:
        content = checkpoint.payload(
            state=state,
            model=prepared.model,
            optimizer=prepared.optimizer,
            schedule=prepared.schedule,
            task=prepared.task,
            config=config,
            metrics_offset=events.recorder.offset(),
        )
        checkpoint.save(prepared.run.checkpoint_path, content)


def interrupted(stop: StopSignals, update: int, during: str = "") -> tuple[str, int]:
    """The status and exit code of a run a stop signal ended, and its line."""
    print(f"interrupted by signal {stop.received} at step {update}{during}", flush=True)
    return "interrupted", 1


def train(cfg: DictConfig, prepared: PreparedRun, world: World, stop: StopSignals) -> int:
    """Train one prepared run; returns the exit code. Only rank 0 writes the run directory."""
    run, device, task, model = prepared.run, prepared.device, prepared.task, prepared.model
    optimizer, schedule, calendar = prepared.optimizer, prepared.schedule, prepared.calendar
    options, config = prepared.options, scientific_config(cfg)
    forward = forward_module(model, world, device, options)
    probe = build_probe(cfg.diagnostics, model, optimizer)
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    state = checkpoint.restore(prepared.saved, model, optimizer, schedule, task)
    offset = checkpoint.metrics_offset(prepared.saved)
    recorder = Recorder.open(run, cfg, prepared.identity, task, device, world, offset)
    if prepared.saved is not None and world.is_main:
        print(f"resuming {run.path} from step {state.update}", flush=True)
    meter = TrainMeter(device, state.window, carry=world.is_main)
    clock = TrainingClock(device, state)
    progress = Progress(
        calendar.total, state.update, run_label(prepared.identity), task.unit, world.is_main,
        shown_metrics(task.headline, task.selection),
    )  # fmt: skip
    events = LoopEvents(recorder, progress, calendar, clock)
    if prepared.target is None and cfg.task.get("target") is not None and world.is_main:
        print(f"note: target {cfg.task.target.metric} not tracked: this run evaluates only "
              f"{', '.join(task.eval_splits)}", flush=True)  # fmt: skip
    outcome: dict[str, Any] = {}
    exit_code, status = 0, "finished"
    model.train()
    try:
        if evaluation_pending(state, calendar.total, options):  # a signal abandoned it: redo it
            clock.lap()
            if not run_evaluation(prepared, world, state, events, False, stop, meter.units):
                status, exit_code = interrupted(stop, state.update, " (evaluating)")
            clock.resume()
        while state.update < calendar.total and status == "finished":
            if state.position == 0:  # not when resuming inside the epoch (state_dict has it)
                task.begin_epoch(state.epoch)
            in_epoch = calendar.micro_batches_per_epoch[state.epoch]
            batches = task.train_batches(state.epoch, state.position, world)
            end_of_epoch = False
            for group in micro_batches(batches, options.update_freq):
                update = state.update + 1
                set_learning_rate(optimizer, base_lrs, schedule.factor(update) * group[0].lr_scale)
                accumulate_gradients(task, forward, group, update, meter, device, world, options)
                grad_norm = clip_gradients(model, options)
                clock.start_step()
                optimizer.step()
                clock.stop_step()
                optimizer.zero_grad(set_to_none=True)
                meter.add_update(grad_norm)
                end_of_epoch = state.advance(len(group), in_epoch)
                faults.signal_after_step(update)
                plan = plan_update(
                    update, end_of_epoch, calendar.total, options, task.average, stop, world, device
                )
                if plan.log:
                    diverged_at = log_point(prepared, world, state, meter, events, probe)
                    if diverged_at is not None:
                        status, outcome["diverged_at"] = "diverged", diverged_at
                        break
                if plan.pause:
                    diverged_at = meter.diverged_at(world)  # never record parameters after it
                    if diverged_at is not None:
                        status, outcome["diverged_at"] = "diverged", diverged_at
                        break
                    clock.lap()
                if probe is not None and end_of_epoch:
                    events.record(update, probe.epoch_event())
                if plan.evaluate and not run_evaluation(
                    prepared, world, state, events, plan.final, stop, meter.units
                ):
                    plan = plan.interrupted()  # abandoned: checkpoint, stop, evaluate on resume
                if plan.snapshot and world.is_main:
                    with evaluated_weights(prepared, world):  # the evaluated weights
                        state_now = model.state_dict()
                        snapshots.save_snapshot(run.path, update, state_now, task.average.last)
                if plan.checkpoint:
                    save_checkpoint(prepared, world, state, meter, events, config)
                if plan.pause:  # evaluations and checkpoints are not training time
                    clock.resume()
                faults.kill_after_step(update)
                if plan.stop:
                    status, exit_code = interrupted(stop, update)
                    break
                if plan.leave_epoch:
                    break
                if (plan.evaluate or plan.snapshot) and refreshes_batchnorm(prepared):
                    break  # the training data was read again: restart at the position
            else:
                if not end_of_epoch:
                    raise RuntimeError(
                        f"{type(task).__name__}.train_batches ended after global micro-batch "
                        f"{state.position} of epoch {state.epoch}, but the epoch has {in_epoch}"
                    )
        if status == "finished" and state.evaluated_at != state.update:
            if not run_evaluation(prepared, world, state, events, True, stop, meter.units):
                status, exit_code = interrupted(stop, state.update, " (final evaluation)")
        # the checkpoint of the last update is on disk: a resumed run redoes what a signal stops
        if status == "finished" and not evaluate_average(prepared, world, state, events, stop):
            status, exit_code = interrupted(stop, state.update, " (averaged evaluation)")
    except Exception as error:  # noqa: BLE001 - recorded in summary.json, then exit 1
        status, exit_code = "failed", 1
        outcome["error"] = describe_failure(error, run)
    finally:
        events.close()
    clock.record(state)
    if not world.is_main:
        return exit_code
    return close_run(cfg, prepared, recorder, state, world, status, outcome, exit_code)
