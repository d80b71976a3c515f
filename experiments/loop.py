"""The training loop (nanoGPT style: one function read top to bottom).

Per update: set the lr (schedule × the batch's lr scale), run ``update_freq`` micro-batches
through ``task.train_step`` and backpropagate each summed loss divided by the units of the whole
update, clip the gradient norm if the recipe asks, step. Nothing reads the device between log
points: the training loss and a first-non-finite-update flag accumulate on the device and are
read at log points, evaluations and checkpoints, which never record parameters after a
non-finite update (the run ends ``diverged`` at that update).
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import torch
from omegaconf import DictConfig
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from experiments.distributed import World, agree, broadcast_from_main
from experiments.lifecycle_close import close_run
from experiments.loop_meters import StatSums, StepTimer, TrainMeter
from experiments.loop_options import LoopOptions
from experiments.loop_state import LoopState
from experiments.lr_probe import LearningRateProbe
from experiments.progress import Progress
from experiments.runs import checkpoint, faults, snapshots
from experiments.runs.identity import scientific_config
from experiments.runs.prepare import PreparedRun
from experiments.runs.recorder import Recorder
from experiments.runs.signals import StopSignals
from experiments.runs.store import is_storage_error
from experiments.tasks.contract import Batch, Evaluation, Task


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
    with torch.no_grad(), options.autocast(device):
        for split in task.eval_splits:
            totals = StatSums(device)
            for batch in task.eval_batches(split, world):
                totals.add(task.eval_step(model, batch.to(device), evaluation))
            for key, value in task.eval_metrics(split, totals.reduce(world), evaluation).items():
                metrics[prefix + key] = value
    model.train(was_training)
    return metrics


def train(cfg: DictConfig, prepared: PreparedRun, world: World, stop: StopSignals) -> int:
    """Train one prepared run; returns the exit code. Only rank 0 writes the run directory."""
    run, device, task, model = prepared.run, prepared.device, prepared.task, prepared.model
    optimizer, schedule, calendar = prepared.optimizer, prepared.schedule, prepared.calendar
    options = prepared.options
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
    probe = None
    if cfg.diagnostics.lr_probe:
        probe = LearningRateProbe(
            model, optimizer, cfg.diagnostics.conv_coordinates, cfg.diagnostics.bias_coordinates,
            cfg.diagnostics.probe_seed,
        )  # fmt: skip
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    # Optimizers driven by evaluations (NT-ASGD switches to averaging when the validation loss
    # stalls) expose observe(metrics); averaging ones evaluate with their averaged parameters.
    observe = getattr(optimizer, "observe", lambda metrics: None)
    averaged_parameters = getattr(optimizer, "averaged_parameters", nullcontext)

    state, saved = LoopState(), prepared.saved
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        task.load_state_dict(saved["task"])
        checkpoint.set_rng_state(saved["rng"])
        state = LoopState.from_state_dict(saved["loop"])
    offset = saved["metrics_offset"] if saved is not None else 0
    recorder = Recorder.open(run, cfg, prepared.identity, task, device, world, offset)
    if saved is not None and world.is_main:
        print(f"resuming {run.path} from step {state.update}", flush=True)

    meter = TrainMeter(device, state.window, carry=world.is_main)
    step_timer = StepTimer(device)
    session_started, wall_before = time.perf_counter(), state.time_wall
    lap_started = time.perf_counter()  # training time accrues between sync points

    def event(values: dict[str, Any]) -> dict[str, Any]:
        epoch = calendar.epoch_float(state.update)
        return {"step": state.update, "epoch": epoch, "time": state.time, **values}

    def lap() -> None:
        """Add the training time since the last lap (call after the device was read)."""
        nonlocal lap_started
        now = time.perf_counter()
        state.time += now - lap_started
        state.time_optimizer += step_timer.collect()
        lap_started = now

    def save_checkpoint() -> None:
        state.window = meter.state(world)
        state.time_wall = wall_before + time.perf_counter() - session_started
        if world.is_main:
            checkpoint.save(
                run.checkpoint_path,
                {
                    "step": state.update,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(),
                    "task": task.state_dict(),
                    "rng": checkpoint.rng_state(),
                    "loop": state.state_dict(),
                    "config": scientific_config(cfg),
                    "metrics_offset": recorder.offset(),
                },
            )

    def run_evaluation(final: bool) -> None:
        state.evaluations += 1
        every = task.full_eval_every
        full = final or (every is not None and state.evaluations % every == 0)
        evaluation = Evaluation(state.evaluations, final, full)
        with averaged_parameters():
            metrics = evaluate(task, model, world, device, options, evaluation)
        if metrics:
            recorder.log(event(metrics))
            progress.evaluation(state.update, metrics)
        state.record_evaluation(metrics, task.selection, calendar.epoch_float(state.update))
        schedule.observe(metrics)
        observe(metrics)

    progress = Progress(
        calendar.total, state.update, label=prepared.identity["name"], unit=task.unit,
        enabled=world.is_main,
    )  # fmt: skip
    outcome: dict[str, Any] = {}
    exit_code, status = 0, "finished"
    model.train()
    try:
        while state.update < calendar.total and status == "finished":
            if state.position == 0:  # not when resuming inside the epoch (state_dict has it)
                task.begin_epoch(state.epoch)
            steps = calendar.micro_batches_per_epoch[state.epoch]
            batches = task.train_batches(state.epoch, state.position, world)
            end_of_epoch = False
            for group in micro_batches(batches, options.update_freq):
                update = state.update + 1
                factor = schedule.factor(update) * group[0].lr_scale
                for param_group, base_lr in zip(optimizer.param_groups, base_lrs, strict=True):
                    param_group["lr"] = base_lr * factor
                accumulate_gradients(task, forward, group, update, meter, device, world, options)
                grad_norm = None
                if options.clip_grad_norm is not None:
                    grad_norm = nn.utils.clip_grad_norm_(model.parameters(), options.clip_grad_norm)
                step_timer.start()
                optimizer.step()
                step_timer.stop()
                optimizer.zero_grad(set_to_none=True)
                meter.add_update(grad_norm)
                state.update, state.position = update, state.position + len(group)
                end_of_epoch = state.position >= steps
                if end_of_epoch:
                    state.epoch, state.position = state.epoch + 1, 0
                last = update == calendar.total

                if update % cfg.log_every == 0 or last:
                    window = meter.read(world)
                    time_before = state.time
                    lap()
                    state.units += window.units
                    values = task.train_metrics(window.means)
                    if window.grad_norm is not None:
                        values["train/grad_norm"] = window.grad_norm
                    values["train/lr"] = optimizer.param_groups[0]["lr"]
                    if probe is not None:
                        values.update(probe.step_event())
                    if window.diverged_at in (None, update):  # no event covers a later update
                        recorder.log(event(values))
                    if window.diverged_at is not None:
                        status, outcome["diverged_at"] = "diverged", window.diverged_at
                        break
                    rate = window.units / max(state.time - time_before, 1e-9)
                    progress.update(update, calendar.epoch_float(update), values, rate)
                faults.signal_after_step(update)
                stopping = stop.received is not None
                if world.distributed:
                    stopping = (update % cfg.log_every == 0 or last) and agree(
                        stopping, world, device
                    )
                evaluating = (update % cfg.eval_every == 0) if cfg.eval_every else end_of_epoch
                snapshotting = task.average is not None and (
                    end_of_epoch if task.average.every is None else update % task.average.every == 0
                )
                saving = update % cfg.checkpoint_every == 0 or last or stopping
                pausing = evaluating or last or snapshotting or saving
                if pausing:
                    first_bad = meter.diverged_at(world)  # never record parameters after it
                    if first_bad is not None:
                        status, outcome["diverged_at"] = "diverged", first_bad
                        break
                    lap()
                if probe is not None and end_of_epoch:
                    recorder.log(event(probe.epoch_event()))
                if evaluating or last:
                    run_evaluation(final=last)
                if snapshotting and world.is_main:
                    snapshots.save_snapshot(run.path, update, model.state_dict(), task.average.last)
                if saving:
                    save_checkpoint()
                if pausing:  # evaluations and checkpoints are not training time
                    lap_started = time.perf_counter()
                faults.kill_after_step(update)
                if stopping and not last:  # after the last update the run is finished
                    status, exit_code = "interrupted", 1
                    print(f"interrupted by signal {stop.received} at step {update}", flush=True)
                    break
                if last or end_of_epoch:
                    break
            else:
                if not end_of_epoch:
                    raise RuntimeError(
                        f"{type(task).__name__}.train_batches ended after global micro-batch "
                        f"{state.position} of epoch {state.epoch}, but the epoch has {steps}"
                    )
        if status == "finished" and state.evaluated_at != state.update:
            run_evaluation(final=True)
        if status == "finished" and task.average is not None:
            broadcast_from_main(None, world)  # every rank sees rank 0's snapshots
            paths = snapshots.snapshot_paths(run.path)[-task.average.last :]
            if paths:  # none when the run stopped before its first snapshot
                model.load_state_dict(snapshots.average(paths))
                evaluation = Evaluation(state.evaluations + 1, final=True, full=True)
                averaged = evaluate(task, model, world, device, options, evaluation, "avg/")
                recorder.log(event({**averaged, "avg/snapshots": len(paths)}))
                progress.evaluation(state.update, averaged)
                state.final = {**state.final, **averaged}
    except Exception as error:  # noqa: BLE001 - recorded in summary.json, then exit 1
        status, exit_code = "failed", 1
        outcome["error"] = f"{type(error).__name__}: {error}"
        if is_storage_error(error):  # a full disk: one line, the last checkpoint is intact
            print(
                f"error: {error.strerror} while writing the run's files in {run.path}: the last "
                "checkpoint is intact; free space and run the same command to resume",
                file=sys.stderr,
                flush=True,
            )
        else:
            traceback.print_exc()
    finally:
        progress.close()
        recorder.close()
    if not world.is_main:
        return exit_code
    seconds = wall_before + time.perf_counter() - session_started
    return close_run(cfg, prepared, recorder, state, world, status, outcome, exit_code, seconds)
