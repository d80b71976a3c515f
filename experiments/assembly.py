"""One builder from a composed config to everything a run trains: the task (``task.build``,
resolved in one place), its model on the device, the optimizer, the calendar of updates and the
lr schedule. The run's preparation, the benchmarks, the GPU check and the tests all build here;
every failure that is bad input is a ``ConfigError`` (missing data included)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue
from torch import nn

from data import DataError
from experiments.calendar import Calendar, check_average
from experiments.config_checks import ConfigError, to_container
from experiments.distributed import World
from experiments.loop_options import LoopOptions
from experiments.loop_state import Target
from experiments.tasks.contract import Task
from optimizers.schedules import LRSchedule, build_schedule


def build_optimizer(cfg: DictConfig, model: nn.Module) -> torch.optim.Optimizer:
    """``instantiate(cfg.optimizer)`` called with ``model.parameters()``, or with
    ``model.named_modules()`` for a class marked ``takes_named_modules`` (Muon with AdamW splits
    the model by its structure). A class with a ``required_schedule`` (Schedule-Free AdamW:
    ``constant``, no warmup) refuses any other schedule in one line."""
    try:
        factory = instantiate(cfg.optimizer)
        structured = getattr(getattr(factory, "func", factory), "takes_named_modules", False)
        optimizer = factory(model.named_modules() if structured else model.parameters())
    except (ValueError, TypeError, InstantiationException, MissingMandatoryValue) as error:
        if isinstance(error, MissingMandatoryValue):
            raise ConfigError(
                "optimizer._target_ is missing: optimizer=custom needs "
                "optimizer._target_=<module.Class> (an importable torch.optim.Optimizer)"
            ) from None
        target = cfg.optimizer.get("_target_")
        raise ConfigError(f"optimizer {target}: {str(error).splitlines()[0]}") from None
    required = getattr(optimizer, "required_schedule", None)
    schedule = (cfg.schedule.get("name"), cfg.schedule.get("warmup", {}).get("name", "none"))
    if required is not None and schedule != (required, "none"):
        raise ConfigError(
            f"schedule={schedule[0]} (warmup {schedule[1]}) is invalid with optimizer "
            f"{cfg.optimizer._target_}: it runs with schedule={required} and no warmup "
            "(its own warmup_steps warms up)"
        )
    return optimizer


def _task_module(path: object) -> tuple[ModuleType, str]:
    """The module ``task.build`` names and the function's name in it: the one place a task
    module is imported (one line when it cannot be)."""
    if not isinstance(path, str) or "." not in path:
        raise ConfigError(f"task.build={path!r} is invalid: a dotted path module.function")
    module_name, _, attribute = path.rpartition(".")
    try:
        return importlib.import_module(module_name), attribute
    except ImportError as error:
        raise ConfigError(f"task.build={path!r} cannot be imported: {error}") from None


def task_builder(path: object, synthetic: bool = False) -> Any:
    """The function ``task.build`` names: ``package.module.function``, imported and checked to be
    callable with the contract's arguments (one line when it cannot be). With ``synthetic``, the
    module's ``synthetic`` builder when it has one."""
    module, attribute = _task_module(path)
    if not hasattr(module, attribute):
        raise ConfigError(f"task.build={path!r} is invalid: {module.__name__} has no {attribute}")
    builder = getattr(module, "synthetic", None) if synthetic else None
    builder = builder or getattr(module, attribute)
    if not callable(builder):
        raise ConfigError(f"task.build={path!r} is invalid: not a function")
    try:
        inspect.signature(builder).bind(None, seed=0, data_dir="", device=None, world=None)
    except (TypeError, ValueError):
        raise ConfigError(
            f"task.build={path!r} is invalid: it must take (cfg, *, seed, data_dir, device, "
            "world) and return a Task (experiments.tasks.contract)"
        ) from None
    return builder


def check_data(cfg: DictConfig) -> None:
    """``ConfigError`` (one line, the builder's message) when the recipe's dataset is missing,
    through the task module's optional ``check_data(cfg, *, data_dir)``; cheap (no data is
    loaded), so a sweep checks every run before launching any."""
    module, _ = _task_module(cfg.task.build)
    check = getattr(module, "check_data", None)
    if check is None:
        return
    try:
        check(cfg.task, data_dir=cfg.data_dir)
    except DataError as error:  # DataUnavailable included
        raise ConfigError(str(error)) from None
    except PermissionError as error:
        raise ConfigError(permission_line(error, cfg.data_dir)) from None


def permission_line(error: PermissionError, data_dir: object) -> str:
    """One line for a data file or folder the run may not read (or, where a cache is built,
    write): the path and the ``data_dir`` key, which names the folder."""
    path = error.filename or "a file"
    return (
        f"{error.strerror or 'permission denied'}: {path}; data_dir={data_dir} must be readable, "
        "and writable where a cache is built (or point data_dir at a copy you may write)"
    )


def build_task(
    cfg: DictConfig, device: torch.device, world: World, synthetic: bool = False
) -> Task:
    """The task of ``cfg`` with its model on ``device``, checked against ``world``."""
    builder = task_builder(cfg.task.build, synthetic)
    try:
        task = builder(cfg.task, seed=cfg.seed, data_dir=cfg.data_dir, device=device, world=world)
    except DataError as error:  # DataUnavailable included
        raise ConfigError(str(error)) from None
    except PermissionError as error:  # an unreadable file, a cache folder that cannot be written
        raise ConfigError(permission_line(error, cfg.data_dir)) from None
    if not isinstance(task, Task):
        raise ConfigError(
            f"task.build={cfg.task.build!r} returned a {type(task).__name__}, not a Task "
            "(experiments.tasks.contract)"
        )
    return task


def build_schedule_for(
    cfg: DictConfig, task: Task, optimizer: torch.optim.Optimizer, calendar: Calendar
) -> LRSchedule:
    try:
        schedule = build_schedule(  # shaped by the recipe's budget, not by a max_steps cap
            to_container(cfg.schedule),
            base_lr=optimizer.param_groups[0]["lr"],
            steps_per_epoch=calendar.updates_per_epoch[0],
            total_steps=calendar.budget_updates,
            betas=optimizer.param_groups[0].get("betas"),
            epoch_of=None if calendar.uniform else calendar.epoch_of,
        )
    except (ValueError, KeyError) as error:
        raise ConfigError(f"schedule: {error}") from None
    if schedule.monitor and schedule.monitor.split("/")[0] not in task.eval_splits:
        raise ConfigError(
            f"schedule.monitor={schedule.monitor!r} is invalid: this task evaluates only "
            f"{', '.join(task.eval_splits)} (a recipe may offer a validation split, e.g. "
            "task.val_size)"
        )
    return schedule


@dataclass
class BuiltRun:
    """Everything a run trains, built from its composed config."""

    task: Task
    model: nn.Module
    """The task's model on the device (the loop wraps it for DDP or compilation)."""
    optimizer: torch.optim.Optimizer
    schedule: LRSchedule
    calendar: Calendar
    options: LoopOptions
    target: Target | None
    """The task's time-to-target threshold (``task.target``); None without one, or when the task
    does not evaluate its split."""


def build_run(
    cfg: DictConfig,
    world: World,
    device: torch.device,
    *,
    synthetic: bool = False,
    wrap_task: Callable[[Task], Task] | None = None,
) -> BuiltRun:
    """Task, model on ``device``, optimizer, calendar and schedule of a composed config;
    ``ConfigError`` on bad input. ``synthetic`` builds the task on synthetic data of the real
    shapes where its module offers it (the benchmarks); ``wrap_task`` wraps the built task (a
    benchmark switching evaluations off, the GPU check observing batches). Checkpoint averaging
    is checked against the calendar here, for every task (``calendar.check_average``); its
    warning for a run that ``max_steps`` cuts short is printed among the run's first lines."""
    options = LoopOptions.from_config(cfg)
    task = build_task(cfg, device, world, synthetic=synthetic)
    if wrap_task is not None:
        task = wrap_task(task)
    optimizer = build_optimizer(cfg, task.model)
    calendar = Calendar.plan(task, world, options.update_freq, cfg.max_steps)
    warning = check_average(task.average, calendar)
    if warning is not None and world.is_main:
        print(warning, flush=True)
    schedule = build_schedule_for(cfg, task, optimizer, calendar)
    target = Target.of(cfg.task.get("target"), task.eval_splits)
    return BuiltRun(task, task.model, optimizer, schedule, calendar, options, target)
