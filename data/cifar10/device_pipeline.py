"""The device-resident CIFAR-10 training pipeline: no DataLoader, no host work per sample.

The training set lives on ``device`` as one zero-padded uint8 tensor (N × 3 × 40 × 40,
≈ 240 MB for 50,000 images). Each epoch's shuffle is the (seed, epoch) permutation every other
pipeline of the suite uses (``data.tensor_batches.epoch_generator``), and each batch's crop
offsets and flips come from a generator seeded by (seed, epoch, batch index)
(``data.cifar10.augment.draw_batch``). Both are drawn on the CPU — identical on every device
type — for all remaining batches of the epoch at once and copied to the device in one transfer;
then each batch is one gather (crop and flip together), a float conversion and the
normalization, all on the device. The augmentation distribution is the DataLoader path's
(uniform offsets in 0..8 per axis, fair flips; tested), not its per-sample draws.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from data.cifar10.augment import (
    MEAN,
    PADDING,
    STD,
    Stats,
    crop_flip_batch,
    draw_batch,
    normalize,
    pad,
)
from data.tensor_batches import epoch_generator


class DeviceCifarBatches:
    """Augmented (unless ``augment=False``), normalized training batches computed on ``device``
    (a RowSource)."""

    def __init__(
        self,
        images: Tensor,
        labels: Tensor,
        batch_size: int,
        *,
        seed: int,
        device: torch.device,
        augment: bool = True,
        stats: Stats = (MEAN, STD),
    ) -> None:
        if images.dtype != torch.uint8 or images.shape[1:] != (3, 32, 32):
            raise ValueError(f"expected uint8 N × 3 × 32 × 32 images, got {images.shape}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.padded = pad(images.to(device))
        self.labels = labels.to(device)
        self.batch_size, self.seed, self.device = batch_size, seed, torch.device(device)
        self.augment, self.stats = augment, stats

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    @property
    def num_samples(self) -> int:
        return len(self.labels)

    def _plan(self, epoch: int, start: int) -> Tensor:
        """One row (sample index, top, left, flip) per sample of batches ``start, start+1, …``,
        drawn on the CPU."""
        size = len(self.labels)
        order = torch.randperm(size, generator=epoch_generator(self.seed, epoch))
        offsets, flips = [], []
        for batch in range(start, len(self)):
            count = min(self.batch_size, size - batch * self.batch_size)
            if self.augment:
                batch_offsets, batch_flips = draw_batch(self.seed, epoch, batch, count)
            else:
                batch_offsets = torch.full((count, 2), PADDING)
                batch_flips = torch.zeros(count, dtype=torch.bool)
            offsets.append(batch_offsets)
            flips.append(batch_flips)
        index = order[start * self.batch_size :, None]
        return torch.cat([index, torch.cat(offsets), torch.cat(flips)[:, None].long()], dim=1)

    def batches(self, epoch: int, start: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        if start >= len(self):
            return
        packed = self._plan(epoch, start)  # one host-to-device copy per epoch, asynchronous
        if self.device.type == "cuda":
            packed = packed.pin_memory().to(self.device, non_blocking=True)
        else:
            packed = packed.to(self.device)
        for first in range(0, len(packed), self.batch_size):
            rows = packed[first : first + self.batch_size]
            index = rows[:, 0]
            images = crop_flip_batch(self.padded, index, rows[:, 1:3], rows[:, 3].bool())
            yield normalize(images, self.stats), self.labels[index]
