"""The real training loop, in this process, on the ResNet-20 CIFAR-10 recipe with synthetic data.

``run_loop`` builds a run the way ``scripts.bench_train`` does (the task through its module's
``synthetic`` builder, the optimizer, calendar and schedule of ``experiments.runs.prepare``, a
throw-away run directory) and calls ``experiments.train.train``. The task is wrapped so that
every log point is timestamped: ``train_metrics`` is called right after the loop read the log
window from the device, so the device has caught up there and the time between two log points is
the loop's real steady-state time for those updates (compilation and warm-up fall in the first
windows, which the throughput figures drop).
"""

from __future__ import annotations

import copy
import functools
import json
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from omegaconf import DictConfig, OmegaConf

from experiments.calendar import Calendar
from experiments.distributed import SINGLE_PROCESS, World
from experiments.loop import train
from experiments.loop_options import LoopOptions
from experiments.runs.prepare import PreparedRun, build_optimizer, build_schedule_for
from experiments.runs.signals import StopSignals
from experiments.runs.store import RunDirectory
from experiments.tasks.contract import Batch, Task
from experiments.tasks.forwarding import ForwardingTask
from experiments.torch_startup import seed_everything
from scripts.bench_train import WithoutEvaluation, build_task, compose_task
from scripts.gpu_check.plan import Sizes

RECIPE = "cifar10_resnet20"
MISSING_KEY = object()


@functools.lru_cache(maxsize=4)
def _base_config(sizes: Sizes, device_type: str) -> DictConfig:
    extra = ["launcher=inline", f"task.batch_size={sizes.batch_size}"]
    if sizes.synthetic_images is not None:
        extra += [
            "task.build=scripts.gpu_check.sized_cifar.build",
            f"+task.synthetic_images={sizes.synthetic_images}",
        ]
    return compose_task(RECIPE, device_type, extra)


def recipe_config(sizes: Sizes, device: torch.device, *overrides: str) -> DictConfig:
    """The ResNet-20 recipe at the mode's batch size (the tiny mode: on fewer images), with
    ``overrides`` (``key=value`` of existing keys) applied. Composed once per mode and device
    (a Hydra compose takes ≈ 0.5 s; the check builds dozens of runs), with Hydra's basic
    launcher (``launcher=inline``): the default one is a plugin the GPU machine lacks."""
    cfg = copy.deepcopy(_base_config(sizes, device.type))
    for override in overrides:
        key, _, value = override.partition("=")
        if OmegaConf.select(cfg, key, default=MISSING_KEY) is MISSING_KEY:
            raise KeyError(f"{key}: not a key of the {RECIPE} config")
        OmegaConf.update(cfg, key, yaml.safe_load(value), merge=False)
    return cfg


class ObservedTask(ForwardingTask):
    """A task that timestamps its first ``train_batches`` call and each log point
    (``train_metrics``), and otherwise delegates."""

    def __init__(self, task: Task) -> None:
        super().__init__(task)
        self.log_times: list[float] = []
        self.started: float | None = None

    def train_batches(self, epoch: int, start: int, world: World) -> Iterator[Batch]:
        if self.started is None:
            self.started = time.perf_counter()
        return self.inner.train_batches(epoch, start, world)

    def train_metrics(self, means: Mapping[str, float]) -> dict[str, float]:
        self.log_times.append(time.perf_counter())
        return self.inner.train_metrics(means)


@dataclass
class LoopRun:
    code: int
    summary: dict[str, Any]
    events: list[dict[str, Any]]
    log_times: list[float]
    """``time.perf_counter()`` at each log point, after the loop read the device."""
    started: float
    """``time.perf_counter()`` when the loop asked for the first epoch's batches."""
    log_every: int
    wall_s: float

    def losses(self) -> list[float]:
        return [event["train/loss"] for event in self.events if "train/loss" in event]

    def first_window_s(self) -> float:
        """Seconds from the first batch request to the first log point (warm-up included)."""
        return self.log_times[0] - self.started

    def steady_s_per_update(self, warmup_windows: int) -> float:
        """Seconds per update between the log points after the first ``warmup_windows``."""
        times = self.log_times[warmup_windows:]
        if len(times) < 2:
            raise ValueError(f"{len(self.log_times)} log points: too few after the warm-up")
        return (times[-1] - times[0]) / ((len(times) - 1) * self.log_every)


def run_loop(
    cfg: DictConfig,
    device: torch.device,
    *,
    evaluation: bool = True,
    around: Callable[[PreparedRun], AbstractContextManager] | None = None,
) -> LoopRun:
    """One run of ``experiments.train.train`` for ``cfg.max_steps`` updates (see the module
    docstring); ``around(prepared)`` is a context entered around the training call."""
    seed_everything(cfg.seed, cfg.deterministic)
    inner = build_task(cfg, device)
    task = ObservedTask(inner if evaluation else WithoutEvaluation(inner))
    options = LoopOptions.from_task_config(cfg.task)
    model = task.place_model(device)
    optimizer = build_optimizer(cfg, model)
    calendar = Calendar.plan(task, SINGLE_PROCESS, options.update_freq, cfg.max_steps)
    schedule = build_schedule_for(cfg, task, optimizer, calendar)
    identity = {
        "task": cfg.task.name,
        "optimizer": "gpu-check",
        "seed": cfg.seed,
        "sweep": "gpu-check",
        "overrides": {},
        "name": "gpu-check",
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        run = RunDirectory(Path(scratch) / "run")
        run.path.mkdir()
        prepared = PreparedRun(
            run, identity, device, task, model, optimizer, schedule, calendar, options
        )
        with StopSignals() as stop, (around or (lambda _: nullcontext()))(prepared):
            code = train(cfg, prepared, SINGLE_PROCESS, stop)
        summary = json.loads(run.summary_path.read_text())
        events = [json.loads(line) for line in run.metrics_path.read_text().splitlines()]
    wall = time.perf_counter() - started
    return LoopRun(
        code, summary, events, task.log_times, task.started or started, int(cfg.log_every), wall
    )
