"""The task contract (AlgoPerf-style: a task declares everything but the optimizer).

A task module exposes ``build(cfg, *, seed, data_dir, device) -> Task``; its config names that
function under ``task.build``. ``data_dir`` is where datasets live; ``device`` lets a task keep
its data on the GPU (batches already on the device are not copied again). Adding a task is one
config in ``configs/task/`` plus one such module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import Tensor, nn

from experiments.distributed import SINGLE_PROCESS, World, all_reduce_sum
from experiments.metric_direction import metric_mode  # noqa: F401 - part of the task contract


class BatchSource(Protocol):
    """Mini-batches of one split. ``batches(epoch, start)`` must equal ``batches(epoch, 0)``
    without its first ``start`` batches (exact mid-epoch resume). ``batch_size`` is the global
    batch (all ranks together); ``num_samples`` the split's size."""

    batch_size: int
    num_samples: int

    def __len__(self) -> int: ...

    def batches(self, epoch: int, start: int = 0) -> Iterator[tuple[Tensor, Tensor]]: ...


@dataclass
class Task:
    model: nn.Module
    train: BatchSource
    eval_splits: Mapping[str, BatchSource]
    loss_fn: Callable[[Tensor, Tensor], Tensor]
    epochs: int
    headline: str
    mode: str
    checksums: dict[str, str] = field(default_factory=dict)

    def evaluate(
        self,
        model: nn.Module,
        device: torch.device,
        world: World = SINGLE_PROCESS,
        precision: str = "fp32",
    ) -> dict[str, float]:
        """Loss and accuracy on every evaluation split, as ``<split>/loss`` and ``<split>/acc``,
        without gradients; with several ranks each takes every ``world_size``-th batch and the
        sums are reduced across ranks."""
        results: dict[str, float] = {}
        was_training = model.training
        model.eval()
        with torch.no_grad(), autocast(device, precision):
            for split, source in self.eval_splits.items():
                loss_sum, correct, count = 0.0, 0, 0
                for index, (inputs, targets) in enumerate(source.batches(epoch=0)):
                    if index % world.world_size != world.rank:
                        continue
                    inputs, targets = inputs.to(device), targets.to(device)
                    outputs = model(inputs)
                    loss_sum += self.loss_fn(outputs.float(), targets).item() * len(targets)
                    correct += (outputs.argmax(dim=1) == targets).sum().item()
                    count += len(targets)
                loss_sum, correct, count = all_reduce_sum([loss_sum, correct, count], world)
                results[f"{split}/loss"] = loss_sum / count
                results[f"{split}/acc"] = 100.0 * correct / count
        model.train(was_training)
        return results


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """bf16 autocast when ``precision == "bf16"``; a disabled context otherwise."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
