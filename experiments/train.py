"""The entry point and the training loop: ``python -m experiments.train [overrides]``.

One top-to-bottom file (nanoGPT style): compose and check the config, find the run directory,
build the task, then train, log, evaluate, checkpoint and close the run with ``summary.json``.
Exit codes (DESIGN.md): 0 finished, diverged or already finished; 2 bad input; 1 anything else.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import sys
import time
import traceback
from typing import Any

import hydra
import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import get_method, instantiate
from omegaconf import DictConfig, OmegaConf

from experiments import checkpoint
from experiments.config_checks import (
    ConfigError,
    check_overrides,
    check_run_keys,
    check_writable,
    resolve_device,
    to_container,
)
from experiments.progress import Progress
from experiments.run_identity import (
    first_difference,
    run_dir,
    scientific_config,
    scientific_overrides,
)
from experiments.run_meta import collect_meta, peak_memory_bytes
from experiments.run_store import FINAL_STATUSES, RunDirectory, RunLocked, write_json
from experiments.tasks.base import DataUnavailable, Task, metric_mode
from experiments.wandb_mirror import WandbMirror
from optimizers.schedules import build_schedule

_exit_codes: list[int] = []


class StopRequested:
    """Turns SIGTERM/SIGINT into a flag the loop checks after each step."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequested:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.signal = signum

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    torch.backends.cudnn.benchmark = not deterministic


def build_optimizer(cfg: DictConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    try:
        return instantiate(cfg.optimizer)(model.parameters())
    except (ValueError, TypeError) as error:
        raise ConfigError(f"optimizer {cfg.optimizer.get('_target_')}: {error}") from None


def train(cfg: DictConfig, task: Task, run: RunDirectory, device: torch.device, ident: dict) -> int:
    """Train one run in ``run`` (locked by the caller); returns the exit code."""
    seed_everything(cfg.seed, cfg.deterministic)
    model = task.model.to(device)
    optimizer = build_optimizer(cfg, model)
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    steps_per_epoch = len(task.train)
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

    state: dict[str, Any] = {
        "step": 0, "epoch": 0, "batch": 0, "time": 0.0, "time_optimizer": 0.0,
        "loss_sum": 0.0, "loss_count": 0, "best": {}, "final": {}, "evaluated_step": -1,
    }  # fmt: skip
    saved = checkpoint.load(run.checkpoint_path)
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        checkpoint.set_rng_state(saved["rng"])
        state.update(saved["loop"])
        run.truncate_metrics(saved["metrics_offset"])
        print(f"resuming {run.path} from step {state['step']}", flush=True)
    else:
        run.truncate_metrics(0)

    write_json(run.meta_path, collect_meta(cfg, task, device, run.meta_path))
    summary: dict[str, Any] = {
        **ident,
        "status": "running",
        "headline": {"metric": task.headline, "mode": task.mode},
    }
    write_json(run.summary_path, summary)
    mirror = None
    if cfg.logger.wandb:
        wandb_config = OmegaConf.to_container(cfg, resolve=True)
        mirror = WandbMirror.start(run.path, dict(cfg.logger.wandb), wandb_config, ident)
    metrics_file = open(run.metrics_path, "a")

    def log(event: dict[str, Any]) -> None:
        event = {"step": state["step"], "epoch": state["step"] / steps_per_epoch,
                 "time": state["time"], **event}  # fmt: skip
        metrics_file.write(json_line(event))
        metrics_file.flush()
        if mirror is not None:
            mirror.log(event)

    def save_checkpoint() -> None:
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
        metrics = task.evaluate(model, device)
        log(metrics)
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

    progress = Progress(total_steps, state["step"], label=ident["name"])
    exit_code, status = 0, "finished"
    model.train()
    try:
        with StopRequested() as stop:
            window_start, window_samples = time.perf_counter(), 0
            while state["step"] < total_steps and status == "finished":
                for inputs, targets in task.train.batches(state["epoch"], state["batch"]):
                    started = time.perf_counter()
                    update = state["step"] + 1
                    factor = schedule.factor(update)
                    for group, base_lr in zip(optimizer.param_groups, base_lrs, strict=True):
                        group["lr"] = base_lr * factor
                    inputs, targets = inputs.to(device), targets.to(device)
                    loss = task.loss_fn(model(inputs), targets)
                    loss_value = loss.item()
                    if not math.isfinite(loss_value):
                        status, summary["diverged_at"] = "diverged", update
                        print(f"diverged: loss {loss_value} at step {update}", flush=True)
                        break
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer_started = time.perf_counter()
                    optimizer.step()
                    state["time_optimizer"] += time.perf_counter() - optimizer_started
                    state["step"], state["batch"] = update, state["batch"] + 1
                    state["loss_sum"] += loss_value
                    state["loss_count"] += 1
                    window_samples += len(targets)
                    state["time"] += time.perf_counter() - started
                    end_of_epoch = state["batch"] == steps_per_epoch
                    if end_of_epoch:
                        state["epoch"], state["batch"] = state["epoch"] + 1, 0
                    last = update == total_steps
                    if update % cfg.log_every == 0 or last:
                        mean_loss = state["loss_sum"] / state["loss_count"]
                        lr = optimizer.param_groups[0]["lr"]
                        event = {"train/loss": mean_loss, "train/lr": lr}
                        log(event)
                        rate = window_samples / max(time.perf_counter() - window_start, 1e-9)
                        progress.update(update, {**event, "epoch": update / steps_per_epoch}, rate)
                        state["loss_sum"], state["loss_count"] = 0.0, 0
                        window_start, window_samples = time.perf_counter(), 0
                    due = update % cfg.eval_every == 0 if cfg.eval_every else end_of_epoch
                    if due or last:
                        evaluate()
                    if update % cfg.checkpoint_every == 0 or last:
                        save_checkpoint()
                    checkpoint.inject_kill_after_step(update)
                    if stop.signal is not None:
                        save_checkpoint()
                        status, exit_code = "interrupted", 1
                        print(f"interrupted by signal {stop.signal} at step {update}", flush=True)
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
        metrics_file.close()

    summary.update(
        status=status,
        final=state["final"],
        best=state["best"],
        steps=state["step"],
        epochs=state["step"] / steps_per_epoch,
        time_total=state["time"],
        time_optimizer=state["time_optimizer"],
        peak_memory_bytes=peak_memory_bytes(device),
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


def json_line(event: dict[str, Any]) -> str:
    return json.dumps(event, allow_nan=True) + "\n"


def launch(cfg: DictConfig, overrides: list[str], choices: dict[str, Any]) -> int:
    """Everything between a composed config and a finished run directory; returns the exit code."""
    try:
        check_run_keys(cfg)
        device = resolve_device(cfg.device)
        science = scientific_overrides(overrides, cfg, choices)
        path = run_dir(cfg, science, choices)
        run = RunDirectory(path)
        if run.is_final() and not cfg.force:
            status = run.summary()["status"]
            print(f"already finished ({status}): results in {path} (force=true re-runs)")
            return 0
        check_writable(cfg.runs_dir)
        ident = {
            "task": str(choices.get("task", cfg.task.name)),
            "optimizer": str(choices.get("optimizer", "custom")),
            "seed": cfg.seed,
            "sweep": str(cfg.sweep),
            "overrides": science,
            "name": str(path.relative_to(cfg.runs_dir)),
        }
        build = get_method(cfg.task.build)
        try:
            task = build(cfg.task, seed=cfg.seed, data_dir=cfg.data_dir, device=device)
        except DataUnavailable as error:
            raise ConfigError(str(error)) from None
        run.acquire()
        try:
            if run.is_final() and not cfg.force:
                print(f"already finished: results in {path} (force=true re-runs)")
                return 0
            stored = run.stored_config()
            if cfg.force:
                run.clear()
            elif stored is not None:
                differs = first_difference(scientific_config(stored), scientific_config(cfg))
                if differs is not None:
                    raise ConfigError(
                        f"{path} holds a run whose config differs in {differs!r}; "
                        "resume with the same config, or force=true to start it again"
                    )
            run.write_config(cfg, overrides)
            return train(cfg, task, run, device, ident)
        finally:
            run.release()
    except (ConfigError, RunLocked) as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2


@hydra.main(config_path="../configs", config_name="train", version_base="1.3")
def hydra_entry(cfg: DictConfig) -> int:
    hydra_cfg = HydraConfig.get()
    code = launch(cfg, list(hydra_cfg.overrides.task), dict(hydra_cfg.runtime.choices))
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
    os.environ.setdefault("HYDRA_FULL_ERROR", "0")
    main()
