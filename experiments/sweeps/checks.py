"""What is checked of every job of a batch before any of its runs starts: the run-level keys, the
device, the task's builder and data (missing data is bad input), the loop's recipe keys, the
optimizer's keywords and values; under a tuner also a validation split to select on. And what is
checked of the sweep itself before Hydra starts it."""

from __future__ import annotations

import torch
from omegaconf import DictConfig

from experiments import assembly
from experiments.config_checks import ConfigError, check_run_keys, resolve_device
from experiments.loop_options import LoopOptions
from experiments.sweeps.expansion import Job

VALIDATION_KEYS = {"val_size": "5000", "val_fraction": "0.1"}
"""Recipe keys that carve a validation split, and a value that does."""


def check_job(job: Job, tuning: bool) -> None:
    """``ConfigError`` (one line) when the job cannot run."""
    cfg = job.cfg
    check_run_keys(cfg)
    resolve_device(cfg.device)
    assembly.task_builder(cfg.task.build)
    LoopOptions.from_config(cfg)
    assembly.build_optimizer(cfg, torch.nn.Linear(1, 1))  # unknown keywords, wrong types
    assembly.check_data(cfg)
    if tuning:
        check_validation_split(cfg.task)


def check_validation_split(task: DictConfig) -> None:
    """A tuner selects on validation: a recipe evaluating without a validation split (the CIFAR
    recipes select on test, as their papers) is refused, naming the key that carves one."""
    for key, example in VALIDATION_KEYS.items():
        if key in task and not task[key]:
            raise ConfigError(
                f"task {task.name} has no validation split to tune on (task.{key}="
                f"{task[key]}): carve one out, e.g. task.{key}={example}"
            )


def check_tuning_sweep(master: DictConfig) -> None:
    """A tuning sweep (a sweeper that decides as it goes) needs its own name, so that two studies
    never share a folder, and waits for its runs (the sweeper needs their objectives)."""
    if master.sweep == "single":
        raise ConfigError(
            "a tuning sweep needs its own name: add sweep=<name> (its runs and Hydra's "
            "optimization_results.yaml go to <runs_dir>/<name>/)"
        )
    if master.launcher.get("wait") is False:
        raise ConfigError(
            "launcher.wait=false is invalid under a tuner: it needs each batch's results "
            "before it proposes the next"
        )
