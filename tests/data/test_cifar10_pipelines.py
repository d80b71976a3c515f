"""The two CIFAR-10 training pipelines: torchvision's transform as the reference, the same
augmentation distribution, identical tensors without randomness, exact mid-epoch resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import stats

from data.cifar10.augment import crop_flip_batch, pad
from data.cifar10.device_pipeline import DeviceCifarBatches
from data.cifar10.loader_pipeline import AugmentedCifar, CifarEvalBatches, loader_batches
from data.seeding import derive_seed
from data.torchvision_compat import import_torchvision

torchvision = import_torchvision()
T = torchvision.transforms
TF = torchvision.transforms.functional

# The RAdam / AdaBound repositories' normalization (docs/papers.md §2), written out independently.
PAPER_MEAN = (0.4914, 0.4822, 0.4465)
PAPER_STD = (0.2023, 0.1994, 0.2010)
UNIT = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
CPU = torch.device("cpu")
DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
    ),
]
"""The device-resident pipeline's tests run on every device this machine has."""


def random_images(count: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (count, 3, 32, 32), dtype=torch.uint8, generator=generator)


def to_pil(image: torch.Tensor) -> Image.Image:
    return Image.fromarray(image.permute(1, 2, 0).numpy())


def test_dataloader_sample_equals_torchvision_transform_under_the_same_seed() -> None:
    """The repositories' transform_train on PIL images, seeded like the sample's generator."""
    images = random_images(6)
    dataset = AugmentedCifar(images, torch.arange(6), seed=11)
    reference = T.Compose(
        [
            T.RandomCrop(32, padding=4),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize(PAPER_MEAN, PAPER_STD),
        ]
    )
    for epoch, index in [(0, 0), (0, 5), (3, 2), (7, 4)]:
        torch.manual_seed(derive_seed("cifar10-sample", 11, epoch, index))
        expected = reference(to_pil(images[index]))
        actual, label = dataset[(epoch, index)]
        assert int(label) == index
        assert torch.equal(actual, expected)


def test_batch_crop_flip_equals_torchvision_crop_and_flip() -> None:
    images = random_images(16, seed=1)
    generator = torch.Generator().manual_seed(5)
    index = torch.randperm(16, generator=generator)[:10]
    offsets = torch.randint(0, 9, (10, 2), generator=generator)
    flips = torch.rand(10, generator=generator) < 0.5
    flips[:2] = torch.tensor([True, False])
    windows = crop_flip_batch(pad(images), index, offsets, flips)
    for b in range(10):
        top, left = offsets[b].tolist()
        expected = TF.crop(TF.pad(images[index[b]], [4]), top, left, 32, 32)
        if flips[b]:
            expected = TF.hflip(expected)
        assert torch.equal(windows[b], expected)


def test_without_randomness_both_pipelines_give_identical_tensors() -> None:
    """Offset (4, 4) and no flip: both pipelines return the normalized original images, in the
    same (seed, epoch) order."""
    images, labels = random_images(40, seed=2), torch.arange(40)
    loader = loader_batches(
        images, labels, 16, seed=9, num_workers=0, pin_memory=False, augment=False
    )
    device = DeviceCifarBatches(images, labels, 16, seed=9, device=CPU, augment=False)
    normalize = T.Normalize(PAPER_MEAN, PAPER_STD)
    for (x_loader, y_loader), (x_device, y_device) in zip(
        loader.batches(1), device.batches(1), strict=True
    ):
        assert torch.equal(y_loader, y_device)
        assert torch.equal(x_loader, x_device)
        expected = torch.stack([normalize(TF.to_tensor(to_pil(images[i]))) for i in y_loader])
        assert torch.equal(x_loader, expected)


def coordinate_images(count: int) -> torch.Tensor:
    """Images whose red channel holds row + 1 and green channel column + 1 (padding stays 0),
    so the crop offsets and the flip can be read back from any augmented copy."""
    span = torch.arange(1, 33, dtype=torch.uint8)
    image = torch.zeros(3, 32, 32, dtype=torch.uint8)
    image[0] = span[:, None]
    image[1] = span[None, :]
    return image.expand(count, 3, 32, 32).contiguous()


def decode(batch: torch.Tensor) -> tuple[list[int], list[bool]]:
    """(cell = 9·top + left, flipped) of each augmented coordinate image (unit normalization).

    Output row i reads padded row top + i, whose value is top + i − 3; output column j reads
    padded column left + j (value left + j − 3) or, flipped, left + 31 − j (value left + 28 − j).
    """
    values = (batch * 255).round().long()
    top = values[:, 0, 16, 16] - 13
    flipped = values[:, 1, 16, 17] < values[:, 1, 16, 16]
    left = torch.where(flipped, values[:, 1, 16, 16] - 12, values[:, 1, 16, 16] - 13)
    return (9 * top + left).tolist(), flipped.tolist()


@pytest.mark.parametrize("on", DEVICES)
def test_both_pipelines_draw_from_the_same_augmentation_distribution(on: str) -> None:
    count = 4050  # 50 draws per crop position on average
    images, labels = coordinate_images(count), torch.zeros(count, dtype=torch.long)
    loader = loader_batches(
        images, labels, 150, seed=4, num_workers=0, pin_memory=False, stats=UNIT
    )
    device = DeviceCifarBatches(images, labels, 150, seed=4, device=torch.device(on), stats=UNIT)
    histograms, flip_rates = [], []
    for source in (loader, device):
        cells, flips = [], []
        for batch, _ in source.batches(epoch=2):
            batch_cells, batch_flips = decode(batch.cpu())
            cells += batch_cells
            flips += batch_flips
        assert len(cells) == count and min(cells) >= 0 and max(cells) <= 80
        histogram = np.bincount(cells, minlength=81)
        # Uniform over the 9 × 9 offsets: chi-square goodness of fit, 80 degrees of freedom.
        assert stats.chisquare(histogram).pvalue > 1e-3
        histograms.append(histogram)
        flip_rates.append(np.mean(flips))
    # Fair flips: 4 standard deviations of a binomial proportion.
    for rate in flip_rates:
        assert abs(rate - 0.5) < 4 * np.sqrt(0.25 / count)
    # The two pipelines' histograms are samples of one distribution (homogeneity test).
    assert stats.chi2_contingency(np.stack(histograms)).pvalue > 1e-3


@pytest.mark.parametrize(
    "pipeline",
    ["dataloader", "device", *[f"device-{d}" for d in ("cuda",) if torch.cuda.is_available()]],
)
def test_mid_epoch_resume_is_exact(pipeline: str) -> None:
    images, labels = random_images(45, seed=3), torch.arange(45)

    def make():
        if pipeline.startswith("device"):
            on = torch.device("cuda" if pipeline == "device-cuda" else "cpu")
            return DeviceCifarBatches(images, labels, 8, seed=21, device=on)
        return loader_batches(images, labels, 8, seed=21, num_workers=0, pin_memory=False)

    source = make()
    assert len(source) == 6  # 5 full batches and one of 5
    full = list(source.batches(epoch=3))
    assert [len(y) for _, y in full] == [8, 8, 8, 8, 8, 5]
    for start in (1, 4, 5, 6):
        resumed = list(make().batches(epoch=3, start=start))
        assert len(resumed) == len(full) - start
        for (x, y), (x_full, y_full) in zip(resumed, full[start:], strict=True):
            assert torch.equal(x, x_full) and torch.equal(y, y_full)
    other_epoch = list(source.batches(epoch=4))
    assert not torch.equal(other_epoch[0][1], full[0][1])
    assert sorted(torch.cat([y for _, y in full]).tolist()) == list(range(45))


def test_workers_do_not_change_the_batches() -> None:
    images, labels = random_images(30, seed=4), torch.arange(30)
    serial = loader_batches(images, labels, 7, seed=2, num_workers=0, pin_memory=False)
    parallel = loader_batches(images, labels, 7, seed=2, num_workers=2, pin_memory=False)
    for (x, y), (x_parallel, y_parallel) in zip(
        serial.batches(1, start=1), parallel.batches(1, start=1), strict=True
    ):
        assert torch.equal(x, x_parallel) and torch.equal(y, y_parallel)


def test_evaluation_batches_are_unaugmented_and_in_order() -> None:
    images, labels = random_images(25, seed=6), torch.arange(25)
    source = CifarEvalBatches(images, labels, 10)
    batches = list(source.batches(epoch=0))
    assert [len(y) for _, y in batches] == [10, 10, 5]
    x = torch.cat([x for x, _ in batches])
    expected = torch.stack(
        [T.Normalize(PAPER_MEAN, PAPER_STD)(TF.to_tensor(to_pil(image))) for image in images]
    )
    assert torch.equal(x, expected)
    assert torch.equal(torch.cat([y for _, y in batches]), labels)
    assert torch.equal(list(source.batches(epoch=0, start=2))[0][0], batches[2][0])
