"""The DataLoader CIFAR-10 pipeline (CPU, and the comparison path on GPU) and the evaluation
batches both pipelines use.

Training: a Dataset that crops, flips and normalizes one uint8 image per ``(epoch, index)`` key
with parameters seeded by (seed, epoch, index), behind ``data.epoch_loader.EpochLoader`` (a
(seed, epoch) permutation, workers and pinned memory optional). Evaluation: no augmentation,
normalized batch by batch from uint8 images held on whichever device they were given on.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor
from torch.utils.data import Dataset

from data.cifar10.augment import CENTER, MEAN, STD, Stats, crop_flip, draw_sample, normalize
from data.epoch_loader import EpochLoader


class AugmentedCifar(Dataset):
    """``dataset[(epoch, index)]`` = (augmented normalized float 3 × 32 × 32, label);
    ``augment=False`` keeps every image as it is (normalized only)."""

    def __init__(
        self,
        images: Tensor,
        labels: Tensor,
        seed: int,
        *,
        augment: bool = True,
        stats: Stats = (MEAN, STD),
    ) -> None:
        if images.dtype != torch.uint8 or images.shape[1:] != (3, 32, 32):
            raise ValueError(f"expected uint8 N × 3 × 32 × 32 images, got {images.shape}")
        self.images, self.labels, self.seed = images, labels, seed
        self.augment, self.stats = augment, stats

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, key: tuple[int, int]) -> tuple[Tensor, Tensor]:
        epoch, index = key
        top, left, flip = draw_sample(self.seed, epoch, index) if self.augment else CENTER
        image = crop_flip(self.images[index], top, left, flip)
        return normalize(image, self.stats), self.labels[index]


def loader_batches(
    images: Tensor,
    labels: Tensor,
    batch_size: int,
    *,
    seed: int,
    num_workers: int,
    pin_memory: bool,
    augment: bool = True,
    stats: Stats = (MEAN, STD),
) -> EpochLoader:
    """The shuffled (and by default augmented) training RowSource of the DataLoader path."""
    return EpochLoader(
        AugmentedCifar(images, labels, seed, augment=augment, stats=stats),
        len(images),
        batch_size,
        shuffle=True,
        seed=seed,
        num_workers=num_workers,
        pin_memory=pin_memory,
    )


class CifarEvalBatches:
    """Unaugmented, normalized batches in file order (a RowSource for evaluation)."""

    def __init__(
        self, images: Tensor, labels: Tensor, batch_size: int, stats: Stats = (MEAN, STD)
    ) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.images, self.labels, self.batch_size, self.stats = images, labels, batch_size, stats

    def __len__(self) -> int:
        return -(-len(self.images) // self.batch_size)

    @property
    def num_samples(self) -> int:
        return len(self.images)

    def batches(self, epoch: int, start: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        for first in range(start * self.batch_size, len(self.images), self.batch_size):
            last = first + self.batch_size
            yield normalize(self.images[first:last], self.stats), self.labels[first:last]
