"""A task that passes every call of the contract to another task: the base of the wrappers
that measure a task (``scripts.bench_train``, ``scripts.gpu_check``), which override only what
they switch off or observe."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from experiments.distributed import World
from experiments.tasks.contract import Batch, Evaluation, Task


class ForwardingTask(Task):
    def __init__(self, task: Task) -> None:
        self.inner = task
        self.model, self.budget, self.headline = task.model, task.budget, task.headline
        self.unit, self.eval_splits, self.checksums = task.unit, task.eval_splits, task.checksums
        self.full_eval_every, self.average = task.full_eval_every, task.average

    @property
    def selection(self) -> str:
        return self.inner.selection

    def micro_batches_per_epoch(self, epoch: int, world: World) -> int:
        return self.inner.micro_batches_per_epoch(epoch, world)

    def begin_epoch(self, epoch: int) -> None:
        self.inner.begin_epoch(epoch)

    def train_batches(self, epoch: int, start: int, world: World) -> Iterator[Batch]:
        return self.inner.train_batches(epoch, start, world)

    def train_step(self, model, batch):
        return self.inner.train_step(model, batch)

    def train_metrics(self, means: Mapping[str, float]) -> dict[str, float]:
        return self.inner.train_metrics(means)

    def eval_batches(self, split: str, world: World) -> Iterator[Batch]:
        return self.inner.eval_batches(split, world)

    def eval_step(self, model, batch, evaluation: Evaluation):
        return self.inner.eval_step(model, batch, evaluation)

    def eval_metrics(self, split: str, totals, evaluation: Evaluation) -> dict[str, float]:
        return self.inner.eval_metrics(split, totals, evaluation)

    def state_dict(self) -> dict[str, Any]:
        return self.inner.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.inner.load_state_dict(state)
