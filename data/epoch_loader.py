"""A DataLoader-backed RowSource (``experiments.tasks.classification``) with exact resume.

The dataset is indexed by ``(epoch, index)`` keys, so whatever randomness it draws for a sample
can be seeded from (seed, epoch, index) alone (see ``data.seeding``); the sampler visits one
epoch's permutation — a function of (seed, epoch), the same as ``data.tensor_batches`` draws —
starting at sample ``start * batch_size``. Which worker loads a sample, how many workers there
are and whether memory is pinned therefore never change a batch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from data.tensor_batches import epoch_generator


class EpochSampler(Sampler[tuple[int, int]]):
    """Yields ``(epoch, index)`` for one epoch's order from its ``first`` position on."""

    def __init__(self, size: int, epoch: int, first: int, *, shuffle: bool, seed: int) -> None:
        self.size, self.epoch, self.first = size, epoch, first
        self.shuffle, self.seed = shuffle, seed

    def order(self) -> Tensor:
        if not self.shuffle:
            return torch.arange(self.size)
        return torch.randperm(self.size, generator=epoch_generator(self.seed, self.epoch))

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for index in self.order()[self.first :].tolist():
            yield self.epoch, index

    def __len__(self) -> int:
        return max(self.size - self.first, 0)


def default_num_workers(device: torch.device, cap: int) -> int:
    """0 on CPU (the model's own threads already use the cores); on CUDA up to ``cap`` workers,
    leaving one core for the training process."""
    if device.type != "cuda":
        return 0
    usable = (
        os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    )
    return max(1, min(cap, len(usable) - 1))


class EpochLoader:
    """``batches(epoch, start)`` of a keyed dataset through a fresh DataLoader per call."""

    def __init__(
        self,
        dataset: Dataset,
        size: int,
        batch_size: int,
        *,
        shuffle: bool,
        seed: int = 0,
        num_workers: int = 0,
        pin_memory: bool = False,
    ) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        self.dataset, self.size, self.batch_size = dataset, size, batch_size
        self.shuffle, self.seed = shuffle, seed
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self._sampler: EpochSampler | None = None
        self._loader: DataLoader | None = None

    def __len__(self) -> int:
        return -(-self.size // self.batch_size)

    @property
    def num_samples(self) -> int:
        return self.size

    def batches(self, epoch: int, start: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        """The batches of ``epoch`` from batch ``start`` on. One DataLoader serves every epoch:
        its sampler is pointed at the epoch before each pass, and with workers they persist
        (``persistent_workers``) instead of being started again each epoch."""
        if self._sampler is None:
            self._sampler = EpochSampler(self.size, 0, 0, shuffle=self.shuffle, seed=self.seed)
            self._loader = DataLoader(
                self.dataset,
                batch_size=self.batch_size,
                sampler=self._sampler,
                num_workers=self.num_workers,
                pin_memory=self.pin_memory,
                prefetch_factor=4 if self.num_workers > 0 else None,
                persistent_workers=self.num_workers > 0,
            )
        self._sampler.epoch, self._sampler.first = epoch, start * self.batch_size
        if len(self._sampler) == 0:
            return
        yield from self._loader
