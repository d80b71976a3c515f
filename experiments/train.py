"""The entry point and the training loop: ``python -m experiments.train [overrides]``.

One top-to-bottom file (nanoGPT style): a composed config becomes a locked run directory
(``experiments.launch``), then this loop trains, logs, evaluates, checkpoints and closes the run
with ``summary.json``. Exit codes (DESIGN.md): 0 finished, diverged or already finished; 2 bad
input; 1 anything else. ``torchrun --nproc_per_node N -m experiments.train`` trains with
DistributedDataParallel (``experiments.distributed``). SIGTERM, SIGINT and SIGUSR2 stop a run
at the next step with a checkpoint; after SIGUSR2 submitit's handler then requeues the Slurm job
(``experiments.signals``).
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
import traceback
from typing import Any

import hydra
import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue
from torch.nn.parallel import DistributedDataParallel

from experiments import checkpoint
from experiments.config_checks import CONFIG_DIR, ConfigError, check_overrides, to_container
from experiments.distributed import RankSlice, World, all_reduce_sum, init_world, rank_loss
from experiments.launch import PreparedRun, prepare
from experiments.lr_probe import LearningRateProbe
from experiments.metric_direction import metric_mode
from experiments.progress import Progress
from experiments.run_meta import collect_meta, peak_memory_bytes
from experiments.run_store import FINAL_STATUSES, write_json
from experiments.signals import StopSignals
from experiments.tasks.base import autocast
from experiments.wandb_mirror import WandbMirror
from optimizers.schedules import build_schedule

_exit_codes: list[int] = []


def seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    torch.backends.cudnn.benchmark = not deterministic


def build_optimizer(cfg: DictConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    try:
        return instantiate(cfg.optimizer)(model.parameters())
    except (ValueError, TypeError, InstantiationException, MissingMandatoryValue) as error:
        if isinstance(error, MissingMandatoryValue):
            raise ConfigError(
                "optimizer._target_ is missing: optimizer=custom needs "
                "optimizer._target_=<module.Class> (an importable torch.optim.Optimizer)"
            ) from None
        target = cfg.optimizer.get("_target_")
        raise ConfigError(f"optimizer {target}: {str(error).splitlines()[0]}") from None


def json_line(event: dict[str, Any]) -> str:
    return json.dumps(event, allow_nan=True) + "\n"


def train(cfg: DictConfig, prepared: PreparedRun, world: World, stop: StopSignals) -> int:
    """Train one prepared run; returns the exit code. Only rank 0 writes the run directory."""
    task, run, device, ident = prepared.task, prepared.run, prepared.device, prepared.identity
    if task.train.batch_size % world.world_size:
        raise ConfigError(
            f"task.batch_size={task.train.batch_size} is invalid with {world.world_size} ranks: "
            "the global batch must be divisible by the world size"
        )
    precision = cfg.task.get("precision", "fp32")
    memory_format = torch.channels_last if cfg.task.get("channels_last") else torch.preserve_format
    model = task.model.to(device, memory_format=memory_format)
    optimizer = build_optimizer(cfg, model)
    forward = DistributedDataParallel(model) if world.distributed else model
    if cfg.task.get("compile"):
        forward = torch.compile(forward)
    train_batches = RankSlice(task.train, world)
    probe = None
    if cfg.diagnostics.lr_probe:
        probe = LearningRateProbe(
            model,
            optimizer,
            cfg.diagnostics.conv_coordinates,
            cfg.diagnostics.bias_coordinates,
            cfg.diagnostics.probe_seed,
        )
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    steps_per_epoch = len(train_batches)
    budget = task.epochs * steps_per_epoch
    total_steps = budget if cfg.max_steps is None else min(budget, cfg.max_steps)
    try:
        schedule = build_schedule(  # shaped by the recipe's budget, not by a max_steps cap
            to_container(cfg.schedule),
            base_lr=base_lrs[0],
            steps_per_epoch=steps_per_epoch,
            total_steps=budget,
            betas=optimizer.param_groups[0].get("betas"),
        )
    except (ValueError, KeyError) as error:
        raise ConfigError(f"schedule: {error}") from None
    if schedule.monitor and schedule.monitor.split("/")[0] not in task.eval_splits:
        splits = ", ".join(task.eval_splits)
        raise ConfigError(
            f"schedule.monitor={schedule.monitor!r} is invalid: this task evaluates only "
            f"{splits} (a recipe may offer a validation split, e.g. task.val_size)"
        )

    state: dict[str, Any] = {
        "step": 0, "epoch": 0, "batch": 0, "time": 0.0, "time_optimizer": 0.0, "time_wall": 0.0,
        "loss_sum": 0.0, "loss_count": 0, "best": {}, "final": {}, "evaluated_step": -1,
    }  # fmt: skip
    saved = checkpoint.load(run.checkpoint_path)
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        checkpoint.set_rng_state(saved["rng"])
        state.update(saved["loop"])
    summary: dict[str, Any] = {**ident, "headline": {"metric": task.headline, "mode": task.mode}}
    mirror, metrics_file = None, None
    if world.is_main:
        run.truncate_metrics(saved["metrics_offset"] if saved is not None else 0)
        if saved is not None:
            print(f"resuming {run.path} from step {state['step']}", flush=True)
        write_json(run.meta_path, collect_meta(cfg, task, device, run.meta_path))
        write_json(run.summary_path, {**summary, "status": "running"})
        if cfg.logger.wandb:
            wandb_config = OmegaConf.to_container(cfg, resolve=True)
            mirror = WandbMirror.start(run.path, dict(cfg.logger.wandb), wandb_config, ident)
        metrics_file = open(run.metrics_path, "a")

    def log(event: dict[str, Any]) -> None:
        if metrics_file is None:
            return
        event = {"step": state["step"], "epoch": state["step"] / steps_per_epoch,
                 "time": state["time"], **event}  # fmt: skip
        metrics_file.write(json_line(event))
        metrics_file.flush()
        if mirror is not None:
            mirror.log(event)

    session_started, wall_before = time.perf_counter(), state["time_wall"]

    def update_wall_time() -> None:
        """Wall-clock seconds of the run (training, evaluation, checkpoints) across resumes."""
        state["time_wall"] = wall_before + time.perf_counter() - session_started

    def save_checkpoint() -> None:
        if metrics_file is None:
            return
        update_wall_time()
        checkpoint.save(
            run.checkpoint_path,
            {
                "step": state["step"],
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(),
                "rng": checkpoint.rng_state(),
                "loop": dict(state),
                "metrics_offset": metrics_file.tell(),
            },
        )

    def evaluate() -> None:
        metrics = task.evaluate(model, device, world, precision)
        log(metrics)
        if world.is_main:
            progress.evaluation(state["step"], metrics)
        for key, value in metrics.items():
            best = state["best"].get(key)
            if not math.isfinite(value):
                continue
            if best is None or (value > best["value"]) == (metric_mode(key) == "max"):
                epoch = state["step"] / steps_per_epoch
                state["best"][key] = {"value": value, "step": state["step"], "epoch": epoch}
        state["final"] = metrics
        state["evaluated_step"] = state["step"]
        schedule.observe(metrics)

    progress = Progress(total_steps, state["step"], label=ident["name"], enabled=world.is_main)
    exit_code, status = 0, "finished"
    model.train()
    try:
        window_start, window_samples = time.perf_counter(), 0
        while state["step"] < total_steps and status == "finished":
            for inputs, targets in train_batches.batches(state["epoch"], state["batch"]):
                started = time.perf_counter()
                update = state["step"] + 1
                factor = schedule.factor(update)
                for group, base_lr in zip(optimizer.param_groups, base_lrs, strict=True):
                    group["lr"] = base_lr * factor
                inputs = inputs.to(device, non_blocking=True, memory_format=memory_format)
                targets = targets.to(device, non_blocking=True)
                with autocast(device, precision):
                    outputs = forward(inputs).float()
                samples = len(targets)
                mean_loss = task.loss_fn(outputs, targets) if samples else None
                loss = rank_loss(mean_loss, outputs, samples, train_batches.global_size, world)
                loss_value = loss.item()
                if all_reduce_sum([float(not math.isfinite(loss_value))], world)[0]:
                    status, summary["diverged_at"] = "diverged", update
                    print(f"diverged: non-finite loss at step {update}", flush=True)
                    break
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer_started = time.perf_counter()
                optimizer.step()
                state["time_optimizer"] += time.perf_counter() - optimizer_started
                state["step"], state["batch"] = update, state["batch"] + 1
                state["loss_sum"] += loss_value
                state["loss_count"] += 1
                window_samples += train_batches.global_size
                state["time"] += time.perf_counter() - started
                end_of_epoch = state["batch"] == steps_per_epoch
                if end_of_epoch:
                    state["epoch"], state["batch"] = state["epoch"] + 1, 0
                last = update == total_steps
                if update % cfg.log_every == 0 or last:
                    totals = all_reduce_sum([state["loss_sum"], state["loss_count"]], world)
                    lr = optimizer.param_groups[0]["lr"]
                    event = {"train/loss": totals[0] / totals[1], "train/lr": lr}
                    if probe is not None:
                        event.update(probe.step_event())
                    log(event)
                    rate = window_samples / max(time.perf_counter() - window_start, 1e-9)
                    progress.update(update, {**event, "epoch": update / steps_per_epoch}, rate)
                    state["loss_sum"], state["loss_count"] = 0.0, 0
                    window_start, window_samples = time.perf_counter(), 0
                if probe is not None and end_of_epoch:
                    log(probe.epoch_event())
                due = update % cfg.eval_every == 0 if cfg.eval_every else end_of_epoch
                if due or last:
                    evaluate()
                if update % cfg.checkpoint_every == 0 or last:
                    save_checkpoint()
                checkpoint.inject_kill_after_step(update)
                if all_reduce_sum([float(stop.received is not None)], world)[0]:
                    save_checkpoint()
                    status, exit_code = "interrupted", 1
                    print(f"interrupted by signal {stop.received} at step {update}", flush=True)
                    break
                if last or end_of_epoch:
                    break
        if status == "finished" and state["evaluated_step"] != state["step"]:
            evaluate()
    except Exception as error:  # noqa: BLE001 - recorded in summary.json, then exit 1
        traceback.print_exc()
        status, exit_code = "failed", 1
        summary["error"] = f"{type(error).__name__}: {error}"
    finally:
        progress.close()
        if metrics_file is not None:
            metrics_file.close()
    if not world.is_main:
        return exit_code

    update_wall_time()
    summary.update(
        status=status,
        final=state["final"],
        best=state["best"],
        steps=state["step"],
        epochs=state["step"] / steps_per_epoch,
        time_total=state["time_wall"],
        time_train=state["time"],
        time_optimizer=state["time_optimizer"],
        device=device.type,
        peak_memory_bytes=peak_memory_bytes(device),
        world_size=world.world_size,
    )
    write_json(run.summary_path, summary)
    if mirror is not None:
        mirror.finish(summary, exit_code)
    if status in FINAL_STATUSES and cfg.keep_checkpoint == "none":
        run.checkpoint_path.unlink(missing_ok=True)
    headline = state["final"].get(task.headline)
    shown = f"{task.headline} {headline:.4f}" if headline is not None else "no evaluation"
    print(f"{status}: {shown} | results in {run.path}", flush=True)
    return exit_code


def run_one(cfg: DictConfig, overrides: list[str], choices: dict[str, Any]) -> int:
    """One run from a composed config (also what each job of a sweep calls)."""
    world = init_world("cuda" if cfg.device != "cpu" and torch.cuda.is_available() else "cpu")
    seed_everything(cfg.seed, cfg.deterministic)  # before the task initializes its model
    with StopSignals() as stop:
        prepared = prepare(cfg, overrides, choices, world)
        if isinstance(prepared, int):
            return prepared
        try:
            return train(cfg, prepared, world, stop)
        except ConfigError as error:
            print(f"error: {error}", file=sys.stderr, flush=True)
            return 2
        finally:
            if world.is_main:
                prepared.run.release()
            stop.chain_requeue()


@hydra.main(config_path=str(CONFIG_DIR), config_name="train", version_base="1.3")
def hydra_entry(cfg: DictConfig) -> int:
    hydra_cfg = HydraConfig.get()
    code = run_one(cfg, list(hydra_cfg.overrides.task), dict(hydra_cfg.runtime.choices))
    _exit_codes.append(code)
    return code


def main() -> None:
    arguments = sys.argv[1:]
    if arguments and not any(a.startswith("-") for a in arguments):
        try:
            check_overrides(arguments)
        except ConfigError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)
    hydra_entry()
    codes = set(_exit_codes)
    sys.exit(1 if 1 in codes else 2 if 2 in codes else 0)


if __name__ == "__main__":
    # Run the imported module, not __main__: submitit pickles the task function by reference,
    # which only works for functions of an importable module.
    from experiments.train import main as imported_main

    imported_main()
