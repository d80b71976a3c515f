"""Synthetic rows for benchmarks: a few random batches of the real shapes, served cyclically for
an epoch of the real length (so a benchmark measures the model and the loop, not a dataset)."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor


class CyclicBatches:
    """A RowSource of ``num_samples`` rows drawn from a pool of ``pool`` random batches."""

    def __init__(
        self,
        input_shape: tuple[int, ...],
        classes: int,
        batch_size: int,
        num_samples: int,
        *,
        seed: int = 0,
        pool: int = 4,
    ) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.inputs = torch.randn(pool, batch_size, *input_shape, generator=generator)
        self.targets = torch.randint(0, classes, (pool, batch_size), generator=generator)
        self.batch_size, self.num_samples = batch_size, num_samples

    def __len__(self) -> int:
        return -(-self.num_samples // self.batch_size)

    def batches(self, epoch: int, start: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        for index in range(start, len(self)):
            size = min(self.batch_size, self.num_samples - index * self.batch_size)
            slot = index % len(self.inputs)
            yield self.inputs[slot, :size], self.targets[slot, :size]
