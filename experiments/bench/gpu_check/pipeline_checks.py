"""The device-resident CIFAR-10 pipeline on the device: the same batches as on the CPU, the
augmentation distribution, exact mid-epoch resume.

``tests/data/test_cifar10_pipelines.py`` checks these on the CPU; here the pipeline
(``data.cifar10.device_pipeline``) holds its images on the device under test. The distribution
check reads the crop offsets and flips back from images whose red channel holds row + 1 and
green channel column + 1 (zero padding stays 0): at output pixel (16, 16) the red value is
top + 13, and the green value is left + 13 unflipped or left + 12 flipped, where the flip also
makes the green value fall from column 16 to 17. Offsets must be uniform over the 9 × 9
positions (chi-square, 80 degrees of freedom) and flips fair (within 4 standard deviations);
the histogram must also be homogeneous with the DataLoader pipeline's under the same seed.
p-values come from the regularized upper incomplete gamma function (no scipy on the machine).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from data.cifar10.device_pipeline import DeviceCifarBatches
from data.cifar10.loader_pipeline import loader_batches
from experiments.bench.gpu_check.record import failed

UNIT = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
CELLS = 81
P_MIN = 1e-3


def random_images(count: int, seed: int) -> Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (count, 3, 32, 32), dtype=torch.uint8, generator=generator)


def coordinate_images(count: int) -> Tensor:
    span = torch.arange(1, 33, dtype=torch.uint8)
    image = torch.zeros(3, 32, 32, dtype=torch.uint8)
    image[0], image[1] = span[:, None], span[None, :]
    return image.expand(count, 3, 32, 32).contiguous()


def decode(batch: Tensor) -> tuple[Tensor, Tensor]:
    """(cell = 9·top + left, flipped) of each augmented coordinate image (unit scaling)."""
    values = (batch.float() * 255).round().long().cpu()
    top = values[:, 0, 16, 16] - 13
    flipped = values[:, 1, 16, 17] < values[:, 1, 16, 16]
    left = values[:, 1, 16, 16] - torch.where(flipped, 12, 13)
    return 9 * top + left, flipped


def chi_square_p(statistic: float, dof: int) -> float:
    """P(X ≥ statistic) for X ~ χ²(dof)."""
    value = torch.special.gammaincc(
        torch.tensor(dof / 2, dtype=torch.float64), torch.tensor(statistic / 2, dtype=torch.float64)
    )
    return float(value)


def uniformity_p(histogram: Tensor) -> float:
    expected = histogram.sum() / len(histogram)
    statistic = float(((histogram - expected) ** 2 / expected).sum())
    return chi_square_p(statistic, len(histogram) - 1)


def homogeneity_p(first: Tensor, second: Tensor) -> float:
    table = torch.stack([first, second]).double()
    expected = table.sum(1, keepdim=True) * table.sum(0, keepdim=True) / table.sum()
    used = expected[0] > 0
    statistic = float(((table - expected)[:, used] ** 2 / expected[:, used]).sum())
    return chi_square_p(statistic, int(used.sum()) - 1)


def histogram_of(batches) -> tuple[Tensor, float, int]:
    cells, flips = [], []
    for images, _ in batches:
        cell, flipped = decode(images)
        cells.append(cell)
        flips.append(flipped)
    cell, flipped = torch.cat(cells), torch.cat(flips)
    if int(cell.min()) < 0 or int(cell.max()) >= CELLS:
        raise AssertionError(f"decoded crop cells outside 0..80: {cell.min()}..{cell.max()}")
    return torch.bincount(cell, minlength=CELLS).double(), float(flipped.double().mean()), len(cell)


def augmentation_distribution(device: torch.device, count: int) -> dict:
    images, labels = coordinate_images(count), torch.zeros(count, dtype=torch.long)
    on_device = DeviceCifarBatches(images, labels, 150, seed=4, device=device, stats=UNIT)
    loader = loader_batches(
        images, labels, 150, seed=4, num_workers=0, pin_memory=False, stats=UNIT
    )
    device_hist, device_flips, seen = histogram_of(on_device.batches(epoch=2))
    loader_hist, _, _ = histogram_of(loader.batches(epoch=2))
    details = {
        "device": str(device),
        "images": count,
        "samples_decoded": seen,
        "uniformity_p": uniformity_p(device_hist),
        "homogeneity_with_dataloader_p": homogeneity_p(device_hist, loader_hist),
        "flip_rate": device_flips,
        "flip_tolerance": 4 * math.sqrt(0.25 / count),
    }
    problems = []
    if seen != count:
        problems.append(f"{seen} samples decoded, expected {count}")
    if details["uniformity_p"] <= P_MIN:
        problems.append(f"offsets not uniform (p = {details['uniformity_p']:.2g})")
    if details["homogeneity_with_dataloader_p"] <= P_MIN:
        problems.append("offsets differ from the DataLoader pipeline's")
    if abs(device_flips - 0.5) >= details["flip_tolerance"]:
        problems.append(f"flip rate {device_flips:.3f}")
    return failed(details, problems)


def same_batches_as_cpu(device: torch.device) -> dict:
    """Every batch of two epochs on the device equals the CPU pipeline's (same seed)."""
    images, labels = random_images(300, seed=5), torch.arange(300)
    on_device = DeviceCifarBatches(images, labels, 64, seed=7, device=device)
    on_cpu = DeviceCifarBatches(images, labels, 64, seed=7, device=torch.device("cpu"))
    worst, batches = 0.0, 0
    for epoch in (0, 3):
        pairs = zip(on_device.batches(epoch), on_cpu.batches(epoch), strict=True)
        for (x, y), (x_cpu, y_cpu) in pairs:
            if x.device.type != device.type:
                raise AssertionError(f"batch on {x.device}, expected {device}")
            if not torch.equal(y.cpu(), y_cpu):
                raise AssertionError(f"epoch {epoch}: labels differ from the CPU pipeline's")
            worst = max(worst, float((x.cpu() - x_cpu).abs().max()))
            batches += 1
    details = {"device": str(device), "batches": batches, "max_abs_difference": worst}
    if worst > 1e-6:
        return {**details, "status": "fail", "why": f"images differ by {worst:.2e}"}
    return details


def exact_resume(device: torch.device) -> dict:
    """``batches(epoch, start)`` equals the full epoch's batches from ``start`` on."""
    images, labels = random_images(45, seed=3), torch.arange(45)

    def make() -> DeviceCifarBatches:
        return DeviceCifarBatches(images, labels, 8, seed=21, device=device)

    full = list(make().batches(epoch=3))
    if [len(y) for _, y in full] != [8, 8, 8, 8, 8, 5]:
        raise AssertionError(f"batch sizes {[len(y) for _, y in full]}")
    for start in (1, 4, 5, 6):
        resumed = list(make().batches(epoch=3, start=start))
        if len(resumed) != len(full) - start:
            raise AssertionError(f"start {start}: {len(resumed)} batches")
        for (x, y), (x_full, y_full) in zip(resumed, full[start:], strict=True):
            if not (torch.equal(x, x_full) and torch.equal(y, y_full)):
                raise AssertionError(f"start {start}: a resumed batch differs")
    if torch.equal(list(make().batches(epoch=4))[0][1], full[0][1]):
        raise AssertionError("epochs 3 and 4 start with the same batch")
    if sorted(torch.cat([y for _, y in full]).tolist()) != list(range(45)):
        raise AssertionError("an epoch does not visit every sample once")
    return {"device": str(device), "starts": [1, 4, 5, 6], "epoch_batches": len(full)}
