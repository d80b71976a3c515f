"""The real training loop, in this process, on the ResNet-20 recipe with synthetic data: built by
``experiments.assembly.build_run`` and trained in a throw-away run directory. The task is wrapped
so that each log point is timestamped: ``train_metrics`` is called right after the loop read the
window from the device, so the time between two log points is the loop's real steady-state time
(compilation and warm-up fall in the first windows, which the throughput figures drop)."""

from __future__ import annotations

import copy
import functools
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch
import yaml
from omegaconf import DictConfig, OmegaConf

from experiments.assembly import build_run
from experiments.bench.gpu_check.plan import Sizes
from experiments.bench.train_throughput import WithoutEvaluation, compose_task
from experiments.distributed import SINGLE_PROCESS, World
from experiments.loop import train
from experiments.runs.prepare import PreparedRun, scratch_run
from experiments.runs.signals import StopSignals
from experiments.tasks.contract import Batch, Task
from experiments.tasks.forwarding import ForwardingTask
from experiments.torch_startup import seed_everything

RECIPE = "cifar10_resnet20"
MISSING = object()


@functools.lru_cache(maxsize=4)
def _base_config(sizes: Sizes, device_type: str) -> DictConfig:
    extra = ["launcher=inline", f"task.batch_size={sizes.batch_size}"]
    if sizes.synthetic_images is not None:
        extra += ["task.build=experiments.bench.gpu_check.sized_cifar.build",
                  f"+task.synthetic_images={sizes.synthetic_images}"]  # fmt: skip
    return compose_task(RECIPE, device_type, extra)


def recipe_config(sizes: Sizes, device: torch.device, *overrides: str) -> DictConfig:
    """The recipe at the mode's batch size with ``overrides`` (existing keys) applied, composed
    once per mode and device (a compose takes ≈ 0.5 s; the check builds dozens of runs), with
    Hydra's basic launcher (the default one is a plugin the GPU machine lacks)."""
    cfg = copy.deepcopy(_base_config(sizes, device.type))
    for override in overrides:
        key, _, value = override.partition("=")
        if OmegaConf.select(cfg, key, default=MISSING) is MISSING:
            raise KeyError(f"{key}: not a key of the {RECIPE} config")
        OmegaConf.update(cfg, key, yaml.safe_load(value), merge=False)
    return cfg


class ObservedTask(ForwardingTask):
    """Timestamps its first ``train_batches`` call and each log point (``train_metrics``)."""

    def __init__(self, task: Task) -> None:
        super().__init__(task)
        self.log_times: list[float] = []
        self.started: float | None = None

    def train_batches(self, epoch: int, start: int, world: World) -> Iterator[Batch]:
        self.started = self.started or time.perf_counter()
        return self.inner.train_batches(epoch, start, world)

    def train_metrics(self, means: Mapping[str, float]) -> dict[str, float]:
        self.log_times.append(time.perf_counter())
        return self.inner.train_metrics(means)


@dataclass
class LoopRun:
    code: int
    summary: dict[str, Any]
    events: list[dict[str, Any]]
    log_times: list[float]  # perf_counter() at each log point, after the loop read the device
    started: float  # perf_counter() when the loop asked for the first epoch's batches
    log_every: int
    wall_s: float

    def finished(self) -> bool:
        return self.code == 0 and self.summary["status"] == "finished"

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
    cfg: DictConfig, device: torch.device, *, evaluation: bool = True,
    around: Callable[[PreparedRun], AbstractContextManager] | None = None,
) -> LoopRun:  # fmt: skip
    """One run of ``cfg.max_steps`` updates; ``around(prepared)`` is entered around training."""
    seed_everything(cfg.seed, cfg.deterministic)
    wrap = ObservedTask if evaluation else lambda task: ObservedTask(WithoutEvaluation(task))
    built = build_run(cfg, SINGLE_PROCESS, device, synthetic=True, wrap_task=wrap)
    task, started = built.task, time.perf_counter()
    assert isinstance(task, ObservedTask)
    with scratch_run(cfg, built, device, "gpu-check") as prepared:
        with StopSignals() as stop, (around or (lambda _: nullcontext()))(prepared):
            code = train(cfg, prepared, SINGLE_PROCESS, stop)
        summary = json.loads(prepared.run.summary_path.read_text())
        events = [json.loads(line) for line in prepared.run.metrics_path.read_text().splitlines()]
    return LoopRun(code, summary, events, task.log_times, task.started or started,
                   int(cfg.log_every), time.perf_counter() - started)  # fmt: skip
