"""Classification through the task contract: ``digits``, CIFAR-10 and ImageNet are all this task.

Rows of ``(inputs, targets)`` come from a ``RowSource`` (in-memory tensors, the device-resident
CIFAR pipeline, a DataLoader). ``task.batch_size`` is the GLOBAL batch: each of the
``world_size`` ranks takes a contiguous slice of every global batch (``batch_size /
world_size`` rows; an epoch's smaller last batch is split as evenly as possible), so a run on any
world size sees the same samples in the same order as a single process, with the same number of
steps per epoch, and can resume on any world size that divides the batch. (BatchNorm statistics
stay per rank: models with BatchNorm match a single process only approximately.) The loss is
cross entropy summed over the rows, the unit a sample; evaluation sums the loss and the correct
predictions and reports ``<split>/loss`` and ``<split>/acc`` (%).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from experiments.config_checks import ConfigError
from experiments.distributed import World
from experiments.tasks.contract import Batch, Budget, Evaluation, Task


class RowSource(Protocol):
    """Mini-batches of ``(inputs, targets)`` of one split. ``batches(epoch, start)`` must equal
    ``batches(epoch, 0)`` without its first ``start`` batches; ``batch_size`` is the global
    batch; ``num_samples`` the split's size."""

    batch_size: int
    num_samples: int

    def __len__(self) -> int: ...

    def batches(self, epoch: int, start: int = 0) -> Iterator[tuple[Tensor, Tensor]]: ...


@dataclass
class ImageBatch(Batch):
    inputs: Tensor
    targets: Tensor
    channels_last: bool = False

    def to(self, device: torch.device) -> ImageBatch:
        layout = torch.channels_last if self.channels_last else torch.preserve_format
        return replace(
            self,
            inputs=self.inputs.to(device, non_blocking=True, memory_format=layout),
            targets=self.targets.to(device, non_blocking=True),
        )


def rank_rows(size: int, world: World) -> tuple[int, int]:
    """This rank's contiguous ``[lo, hi)`` share of ``size`` rows (the first ranks take one more
    when ``size`` does not divide evenly)."""
    share, extra = divmod(size, world.world_size)
    lo = world.rank * share + min(world.rank, extra)
    return lo, lo + share + (1 if world.rank < extra else 0)


class ClassificationTask(Task):
    def __init__(
        self,
        *,
        model: nn.Module,
        train: RowSource,
        eval_sources: Mapping[str, RowSource],
        epochs: int,
        headline: str,
        checksums: Mapping[str, str] | None = None,
        channels_last: bool = False,
    ) -> None:
        self.model, self.train, self.eval_sources = model, train, dict(eval_sources)
        self.budget = Budget(epochs=epochs)
        self.eval_splits = tuple(self.eval_sources)
        self.headline = headline
        self.checksums = dict(checksums or {})
        self.channels_last = channels_last

    def micro_batches_per_epoch(self, epoch: int, world: World) -> int:
        return len(self.train)

    def train_batches(self, epoch: int, start: int, world: World) -> Iterator[ImageBatch]:
        for inputs, targets in self.train.batches(epoch, start):
            size = len(targets)
            lo, hi = rank_rows(size, world)
            yield ImageBatch(
                hi - lo,
                size,
                inputs=inputs[lo:hi] if world.distributed else inputs,
                targets=targets[lo:hi] if world.distributed else targets,
                channels_last=self.channels_last,
            )

    def train_step(self, model: nn.Module, batch: ImageBatch) -> tuple[Tensor, dict[str, Tensor]]:
        logits = model(batch.inputs).float()
        if batch.units == 0:  # an empty slice: zero loss, every parameter still used
            zero = logits.sum() * 0.0
            return zero, {"acc": zero.detach()}
        loss = F.cross_entropy(logits, batch.targets, reduction="sum")
        correct = (logits.detach().argmax(dim=1) == batch.targets).sum()
        return loss, {"acc": 100.0 * correct}

    def eval_batches(self, split: str, world: World) -> Iterator[ImageBatch]:
        for index, (inputs, targets) in enumerate(self.eval_sources[split].batches(epoch=0)):
            if index % world.world_size == world.rank:
                yield ImageBatch(
                    len(targets), len(targets), inputs=inputs, targets=targets,
                    channels_last=self.channels_last,
                )  # fmt: skip

    def eval_step(
        self, model: nn.Module, batch: ImageBatch, evaluation: Evaluation
    ) -> dict[str, Tensor | float]:
        logits = model(batch.inputs).float()
        loss = F.cross_entropy(logits, batch.targets, reduction="sum")
        correct = (logits.argmax(dim=1) == batch.targets).sum()
        return {"loss": loss, "correct": correct, "count": batch.units}

    def eval_metrics(
        self, split: str, totals: Mapping[str, float], evaluation: Evaluation
    ) -> dict[str, float]:
        count = totals["count"]
        return {
            f"{split}/loss": totals["loss"] / count,
            f"{split}/acc": 100.0 * totals["correct"] / count,
        }


def ready(task: ClassificationTask, device: torch.device, world: World) -> ClassificationTask:
    """``task`` checked against ``world`` (``ConfigError`` unless the global batch divides over
    the ranks) with its model moved to ``device`` in its layout: what every classification
    builder returns."""
    if task.train.batch_size % world.world_size:
        raise ConfigError(
            f"task.batch_size={task.train.batch_size} is invalid with {world.world_size} "
            "ranks: the global batch must be divisible by the world size"
        )
    layout = torch.channels_last if task.channels_last else torch.preserve_format
    task.model.to(device, memory_format=layout)
    return task
