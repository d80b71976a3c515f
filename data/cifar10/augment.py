"""The CIFAR-10 training augmentation, shared by the DataLoader and the device-resident pipelines.

``RandomCrop(32, padding=4)`` (zero padding) then ``RandomHorizontalFlip()``, then ``ToTensor()``
and ``Normalize(mean, std)`` with the statistics of the RAdam and AdaBound repositories
(docs/papers.md §2). A crop is fixed by its offsets (top, left) in the 40 × 40 padded image, each
uniform in 0..8, and the flip by a fair coin. Both pipelines draw these from generators seeded
by position (``data.seeding``), per sample (DataLoader path, in torchvision's draw order, so a
sample equals torchvision's transform under the same seed) or per batch (device path), and
apply them with the same integer crop/flip and the same float normalization.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor

from data.seeding import derived_generator

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)
SIZE = 32
PADDING = 4
POSITIONS = 2 * PADDING + 1  # crop offsets per axis: 0..8
CENTER = (PADDING, PADDING, False)  # (top, left, flip) of the unaugmented image
# task.normalization: the repositories' per-channel statistics, or Keras' usual x / 255.
NORMALIZATIONS = {"mean_std": (MEAN, STD), "unit": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))}
Stats = tuple[tuple[float, float, float], tuple[float, float, float]]


@functools.lru_cache(maxsize=16)
def _stat_tensors(stats: Stats, device: torch.device) -> tuple[Tensor, Tensor]:
    """Mean and std as 3 × 1 × 1 tensors on ``device``, made once: building them per batch would
    copy from the host and stall a CUDA stream every batch."""
    mean = torch.tensor(stats[0], device=device).view(3, 1, 1)
    return mean, torch.tensor(stats[1], device=device).view(3, 1, 1)


def normalize(images: Tensor, stats: Stats = (MEAN, STD)) -> Tensor:
    """uint8 (..., 3, H, W) → float32 (x/255 − mean)/std, computed as ToTensor + Normalize do."""
    mean, std = _stat_tensors(stats, images.device)
    return (images.float().div(255) - mean) / std


def pad(images: Tensor) -> Tensor:
    """Zero-pad the last two dimensions by ``PADDING`` (RandomCrop's default fill 0)."""
    return F.pad(images, (PADDING, PADDING, PADDING, PADDING))


def draw_sample(seed: int, epoch: int, index: int) -> tuple[int, int, bool]:
    """(top, left, flip) of one sample, drawn like torchvision's RandomCrop.get_params (top,
    then left) followed by RandomHorizontalFlip (``rand < 0.5``)."""
    generator = derived_generator("cifar10-sample", seed, epoch, index)
    top = int(torch.randint(0, POSITIONS, (1,), generator=generator))
    left = int(torch.randint(0, POSITIONS, (1,), generator=generator))
    flip = bool(torch.rand(1, generator=generator) < 0.5)
    return top, left, flip


def draw_batch(seed: int, epoch: int, batch: int, size: int) -> tuple[Tensor, Tensor]:
    """Offsets (size × 2: top, left) and flips (size, bool) of one batch."""
    generator = derived_generator("cifar10-batch", seed, epoch, batch)
    offsets = torch.randint(0, POSITIONS, (size, 2), generator=generator)
    flips = torch.rand(size, generator=generator) < 0.5
    return offsets, flips


def crop_flip(image: Tensor, top: int, left: int, flip: bool) -> Tensor:
    """One uint8 3 × 32 × 32 image: the 32 × 32 window at (top, left) of the padded image."""
    window = pad(image)[:, top : top + SIZE, left : left + SIZE]
    return window.flip(-1) if flip else window


def crop_flip_batch(padded: Tensor, index: Tensor, offsets: Tensor, flips: Tensor) -> Tensor:
    """uint8 B × 3 × 32 × 32 windows of ``padded[index]`` (already padded: N × 3 × 40 × 40) by
    one gather: output pixel (b, c, i, j) reads row top_b + i and column left_b + j, or
    left_b + 31 − j when the image is flipped."""
    channels, side = padded.shape[1], padded.shape[-1]
    span = torch.arange(SIZE, device=padded.device)
    rows = offsets[:, :1] + span
    cols = torch.where(flips[:, None], offsets[:, 1:] + (SIZE - 1 - span), offsets[:, 1:] + span)
    channel = torch.arange(channels, device=padded.device)
    flat = (index[:, None, None, None] * channels + channel[None, :, None, None]) * side
    flat = (flat + rows[:, None, :, None]) * side + cols[:, None, None, :]
    return padded.reshape(-1)[flat]
