"""Batches over in-memory tensors with a per-epoch shuffle that resumes mid-epoch exactly."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The generator of one epoch's shuffle: a function of (seed, epoch) only, so a resumed run
    draws the same order without replaying earlier epochs."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


class TensorBatches:
    """Mini-batches of ``(inputs, targets)`` held in memory.

    ``batches(epoch, start)`` yields exactly the batches ``start, start+1, ...`` of
    ``batches(epoch, 0)``: what a run resumed in the middle of an epoch needs.
    """

    def __init__(
        self, inputs: Tensor, targets: Tensor, batch_size: int, *, shuffle: bool, seed: int = 0
    ) -> None:
        if len(inputs) != len(targets):
            raise ValueError(f"{len(inputs)} inputs but {len(targets)} targets")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.inputs, self.targets = inputs, targets
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed

    def __len__(self) -> int:
        return -(-len(self.inputs) // self.batch_size)

    @property
    def num_samples(self) -> int:
        return len(self.inputs)

    def order(self, epoch: int) -> Tensor:
        """The sample indices of one epoch, in the order they are visited."""
        if not self.shuffle:
            return torch.arange(len(self.inputs))
        return torch.randperm(len(self.inputs), generator=epoch_generator(self.seed, epoch))

    def batches(self, epoch: int, start: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        order = self.order(epoch)
        for first in range(start * self.batch_size, len(order), self.batch_size):
            index = order[first : first + self.batch_size]
            yield self.inputs[index], self.targets[index]
