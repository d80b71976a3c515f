"""From a composed config to a locked run directory ready to train, or an exit code.

Checks the config, derives the run identity, says where a finished run's results are, builds the
task (missing data is bad input), takes the lock and refuses to resume a directory whose stored
config differs in a scientific key. With several ranks, rank 0 decides and the others follow.
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass
from typing import Any

import torch
from hydra.utils import get_method
from omegaconf import DictConfig

from data import DataUnavailable
from experiments.config_checks import ConfigError, check_run_keys, check_writable, resolve_device
from experiments.distributed import World, broadcast_from_main
from experiments.run_identity import (
    first_difference,
    run_dir,
    scientific_config,
    scientific_overrides,
)
from experiments.run_store import RunDirectory, RunLocked, write_json
from experiments.tasks.base import Task


@dataclass
class PreparedRun:
    run: RunDirectory
    task: Task
    device: torch.device
    identity: dict[str, Any]


def _identity(cfg: DictConfig, overrides: list[str], choices: dict[str, Any]) -> dict[str, Any]:
    science = scientific_overrides(overrides, cfg, choices)
    path = run_dir(cfg, science, choices)
    return {
        "task": str(choices.get("task", cfg.task.name)),
        "optimizer": str(choices.get("optimizer", "custom")),
        "seed": cfg.seed,
        "sweep": str(cfg.sweep),
        "overrides": science,
        "name": str(path.relative_to(cfg.runs_dir)),
        "path": path,
    }


def _claim(run: RunDirectory, cfg: DictConfig, overrides: list[str]) -> None:
    """Under the lock: start afresh with force, or check a resumed run's config."""
    stored = run.stored_config()
    if cfg.force:
        run.clear()
    elif stored is not None:
        differs = first_difference(scientific_config(stored), scientific_config(cfg))
        if differs is not None:
            raise ConfigError(
                f"{run.path} holds a run whose config differs in {differs!r}; "
                "resume with the same config, or force=true to start it again"
            )
    run.write_config(cfg, overrides)


def _build_task(cfg: DictConfig, device: torch.device) -> Task:
    try:
        build = get_method(cfg.task.build)
        return build(cfg.task, seed=cfg.seed, data_dir=cfg.data_dir, device=device)
    except DataUnavailable as error:
        raise ConfigError(str(error)) from None


def prepare(
    cfg: DictConfig, overrides: list[str], choices: dict[str, Any], world: World
) -> PreparedRun | int:
    """A locked (on rank 0) run directory and its task, or the exit code to stop with.

    Missing data is bad input (exit 2) and leaves no run directory; any other error while the
    task builds leaves a run directory with ``config.yaml`` and a ``failed`` summary (exit 1)."""
    decision: int | None = None
    prepared: PreparedRun | None = None
    run: RunDirectory | None = None
    try:
        check_run_keys(cfg)
        device = resolve_device(cfg.device)
        if device.type == "cuda" and world.distributed:
            device = torch.device("cuda", world.local_rank)
            torch.cuda.set_device(device)
        identity = _identity(cfg, overrides, choices)
        run = RunDirectory(identity.pop("path"))
        if run.is_final() and not cfg.force:
            if world.is_main:
                status = run.summary()["status"]
                print(f"already finished ({status}): results in {run.path} (force=true re-runs)")
            decision = 0
        else:
            check_writable(cfg.runs_dir)
            failure = None
            try:
                task = _build_task(cfg, device)
            except ConfigError:
                raise
            except Exception as error:  # noqa: BLE001 - recorded as a failed run, then exit 1
                traceback.print_exc()
                failure = f"{type(error).__name__}: {error}"
            if world.is_main:
                run.acquire()
                _claim(run, cfg, overrides)
            if failure is None:
                prepared = PreparedRun(run, task, device, identity)
            else:
                if world.is_main:
                    write_json(run.summary_path, {**identity, "status": "failed", "error": failure})
                decision = 1
    except (ConfigError, RunLocked) as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        decision = 2
    decision = broadcast_from_main(decision, world)
    if decision is not None:
        if run is not None and world.is_main:
            run.release()
        return decision
    return prepared if prepared is not None else 2
