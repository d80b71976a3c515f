"""What the loop measures without reading the device at every step.

``TrainMeter`` keeps the log window's losses, the task's statistics and gradient norms on the
run's device; ``read`` sums them, finds the first non-finite update, reduces across ranks and
reads the host once, at a log point. ``StatSums`` sums one evaluation split the same way.
``StepTimer`` times ``optimizer.step()``: on the CPU with the host clock (CPU work is
synchronous), on CUDA with events (a host clock would time the kernel launches only).
``TrainingClock`` is the run's one clock: training, optimizer and wall time, across resumes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

from experiments.distributed import World, all_reduce_min, sum_statistics
from experiments.loop_state import LoopState

NO_DIVERGENCE = 2**62
"""The flag's value while every update was finite (a MIN reduction keeps the first bad one)."""


class StatSums:
    """Sums of named statistics: device tensors stay on the device (float64), host numbers on
    the host; ``reduce`` sums both over ranks with one collective and one host read."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.tensors: dict[str, Tensor] = {}
        self.numbers: dict[str, float] = {}

    def add(self, statistics: Mapping[str, Tensor | float]) -> None:
        for key, value in statistics.items():
            if isinstance(value, Tensor):
                value = value.detach().to(torch.float64)
                self.tensors[key] = self.tensors[key] + value if key in self.tensors else value
            else:
                self.numbers[key] = self.numbers.get(key, 0.0) + float(value)

    def reduce(self, world: World) -> dict[str, float]:
        merged: dict[str, Tensor | float] = dict(self.numbers)
        for key, value in self.tensors.items():
            merged[key] = value + merged[key] if key in merged else value
        return sum_statistics(merged, world, self.device)


@dataclass
class Window:
    """A log window's totals over all ranks, read on the host."""

    diverged_at: int | None
    units: float
    updates: int
    means: dict[str, float]
    """Per unit: ``loss`` and the task's statistics."""
    grad_norm: float | None
    """The mean gradient norm before clipping, per update (None: no clipping)."""


class TrainMeter:
    """The current log window, on the device: each micro-batch's summed loss and statistics are
    kept as they are (no device work per step) and summed, checked and read at a log point.
    ``state`` / ``__init__(saved=...)`` carry a window's sums across a checkpoint, so a resumed
    run logs the same numbers."""

    def __init__(
        self, device: torch.device, saved: Mapping[str, float] | None = None, carry: bool = True
    ) -> None:
        """``saved``: a window ``state`` returned (its sums are over every rank, so only one
        rank, ``carry``, takes them back; the units and updates are the same on every rank)."""
        self.device = device
        saved = dict(saved or {})
        self.units = float(saved.pop("@units", 0.0))
        self.updates = int(saved.pop("@updates", 0))
        self.carried = {
            key: torch.tensor(value, dtype=torch.float64, device=device)
            for key, value in saved.items()
            if carry
        }
        self.losses: list[Tensor] = []
        self.loss_updates: list[int] = []
        self.values: dict[str, list[Tensor]] = {}

    def add(
        self, update: int, loss_sum: Tensor, global_units: int, stats: Mapping[str, Tensor]
    ) -> None:
        """One micro-batch: its summed loss and statistics (this rank), its units (all ranks)."""
        self.losses.append(loss_sum.detach())
        self.loss_updates.append(update)
        for key, value in stats.items():
            self.values.setdefault(key, []).append(value.detach())
        self.units += global_units

    def add_update(self, grad_norm: Tensor | None) -> None:
        self.updates += 1
        if grad_norm is not None:
            self.values.setdefault("grad_norm", []).append(grad_norm.detach())

    def _first_bad(self) -> Tensor:
        """This rank's first update with a non-finite loss (``NO_DIVERGENCE`` if none)."""
        if not self.losses:
            return torch.tensor(NO_DIVERGENCE, dtype=torch.int64, device=self.device)
        bad = ~torch.isfinite(torch.stack(self.losses))
        updates = torch.tensor(self.loss_updates, dtype=torch.int64, device=self.device)
        return torch.where(bad, updates, NO_DIVERGENCE).min()

    def _sums(self) -> dict[str, Tensor]:
        sums = dict(self.carried)
        lists = {"loss": self.losses, **self.values}
        for key, values in lists.items():
            if values:
                total = torch.stack(values).to(torch.float64).sum()
                sums[key] = sums[key] + total if key in sums else total
        return sums

    def diverged_at(self, world: World) -> int | None:
        """The first update whose loss was not finite on any rank, or None (reads the device)."""
        first = int(all_reduce_min(self._first_bad(), world).item())
        return None if first == NO_DIVERGENCE else first

    def read(self, world: World) -> Window:
        """Reduce and read the window (at a log point), then start a new one."""
        totals = sum_statistics(self._sums(), world, self.device)
        first = int(all_reduce_min(self._first_bad(), world).item())
        units = max(self.units, 1.0)  # a window without units (only empty batches) logs zeros
        grad_norm = totals.pop("grad_norm", None)
        if grad_norm is not None:  # every rank holds the same global norm
            grad_norm /= max(self.updates, 1) * world.world_size
        means = {key: value / units for key, value in totals.items()}
        diverged = None if first == NO_DIVERGENCE else first
        window = Window(diverged, self.units, self.updates, means, grad_norm)
        self.carried, self.losses, self.loss_updates, self.values = {}, [], [], {}
        self.units, self.updates = 0.0, 0
        return window

    def state(self, world: World) -> dict[str, float]:
        """The window so far, summed over every rank, as host numbers (a collective that reads
        the device: every rank calls it when a checkpoint is written)."""
        saved = sum_statistics(self._sums(), world, self.device)
        return {**saved, "@units": self.units, "@updates": float(self.updates)}


class StepTimer:
    """Seconds spent in ``optimizer.step()``, collected at sync points."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.seconds = 0.0
        self.events: list[tuple[torch.cuda.Event, torch.cuda.Event]] = []
        self._started = 0.0

    def start(self) -> None:
        if self.cuda:
            begin = torch.cuda.Event(enable_timing=True)
            begin.record()
            self.events.append((begin, torch.cuda.Event(enable_timing=True)))
        else:
            self._started = time.perf_counter()

    def stop(self) -> None:
        if self.cuda:
            self.events[-1][1].record()
        else:
            self.seconds += time.perf_counter() - self._started

    def collect(self) -> float:
        """Seconds since the last collect (on CUDA waits for the last recorded step)."""
        if self.events:
            self.events[-1][1].synchronize()
            self.seconds += sum(begin.elapsed_time(end) for begin, end in self.events) / 1000
            self.events = []
        seconds, self.seconds = self.seconds, 0.0
        return seconds


class TrainingClock:
    """The run's times, continued from a checkpoint's: ``training`` (seconds between sync
    points, evaluations and checkpoints excluded), ``optimizer`` (inside ``optimizer.step()``)
    and the wall time (everything). Training time is read at sync points only (``lap``), so
    timing never makes the host wait for the device between log points."""

    def __init__(self, device: torch.device, state: LoopState) -> None:
        self.training, self.optimizer = state.time, state.time_optimizer
        self._wall_before = state.time_wall
        self._session_started = time.perf_counter()
        self._lap_started = self._session_started
        self._steps = StepTimer(device)

    def start_step(self) -> None:
        self._steps.start()

    def stop_step(self) -> None:
        self._steps.stop()

    def lap(self) -> float:
        """Add the training time since the last lap (or ``resume``) and the optimizer time
        recorded since; call after the device was read. Returns the lap's seconds."""
        now = time.perf_counter()
        seconds = now - self._lap_started
        self.training += seconds
        self.optimizer += self._steps.collect()
        self._lap_started = now
        return seconds

    def resume(self) -> None:
        """Training time runs again (after an evaluation or a checkpoint, which it excludes)."""
        self._lap_started = time.perf_counter()

    def wall(self) -> float:
        return self._wall_before + time.perf_counter() - self._session_started

    def record(self, state: LoopState) -> None:
        """Write the three times into the loop state (for a checkpoint, or the summary)."""
        state.time, state.time_optimizer = self.training, self.optimizer
        state.time_wall = self.wall()
