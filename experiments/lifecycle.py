"""One run's lifecycle from a composed config: checks, the process's start-up, the prepared run
directory, training, and the lock's release; returns the exit code (0 finished, diverged or
already finished; 2 bad input; 1 anything else). Every sweep job calls ``run_one`` too."""

from __future__ import annotations

import sys
from typing import Any

import torch
from omegaconf import DictConfig

from experiments.config_checks import ConfigError, check_run_keys, resolve_device
from experiments.distributed import agree, init_world
from experiments.loop import train
from experiments.runs.prepare import prepare
from experiments.runs.signals import StopSignals
from experiments.torch_startup import defer_dynamo_import, seed_everything


def run_one(cfg: DictConfig, overrides: list[str], choices: dict[str, Any]) -> int:
    """One run from a composed config (also what each job of a sweep calls)."""
    try:
        check_run_keys(cfg)  # before the seed is used
        device = resolve_device(cfg.device)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    world = init_world(device.type)
    if device.type == "cuda" and world.distributed:  # ranks beyond the GPUs share them (gloo)
        device = torch.device("cuda", world.local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
    if not cfg.task.get("compile", False):
        defer_dynamo_import()
    seed_everything(cfg.seed, cfg.deterministic)  # before the task initializes its model
    with StopSignals() as stop:
        prepared = prepare(cfg, overrides, choices, world, device)
        if isinstance(prepared, int):
            return prepared
        if agree(stop.received is not None, world, device):  # stopped before training began
            if world.is_main:
                prepared.run.release()
            print(
                f"stopped by signal {stop.received} before training: nothing was recorded",
                file=sys.stderr,
            )
            return 1
        try:
            return train(cfg, prepared, world, stop)
        finally:
            if world.is_main:
                prepared.run.release()
            stop.chain_requeue()
