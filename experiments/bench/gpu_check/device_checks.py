"""The device CIFAR-10 pipeline and the optimizers on the device (docs/gpu_check.md)."""

import io
import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

import optimizers
from data.cifar10.device_pipeline import DeviceCifarBatches
from data.cifar10.loader_pipeline import loader_batches
from experiments.bench.gpu_check.record import failed
from optimizers import reference_cases as reference

UNIT = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
CELLS = 81
P_MIN = 1e-3


def random_cifar(count: int, seed: int) -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (count, 3, 32, 32), dtype=torch.uint8, generator=generator)
    return images, torch.randint(0, 10, (count,), generator=generator)


def decode(batch: Tensor) -> tuple[Tensor, Tensor]:
    """(cell = 9·top + left, flipped) of augmented images whose red channel holds row + 1 and
    green channel column + 1: at (16, 16) red is top + 13, green left + 13 (+ 12 flipped)."""
    values = (batch.float() * 255).round().long().cpu()
    top = values[:, 0, 16, 16] - 13
    flipped = values[:, 1, 16, 17] < values[:, 1, 16, 16]
    left = values[:, 1, 16, 16] - torch.where(flipped, 12, 13)
    return 9 * top + left, flipped


def chi_square_p(table: Tensor, expected: Tensor, dof: int) -> float:
    """P(X ≥ Σ (table − expected)² / expected), X ~ χ²(dof) (no scipy on the GPU machine)."""
    statistic = ((table - expected) ** 2 / expected).sum().double()
    return float(torch.special.gammaincc(torch.tensor(dof / 2, dtype=torch.float64), statistic / 2))


def histogram_of(batches) -> tuple[Tensor, float, int]:
    decoded = [decode(images) for images, _ in batches]
    cell, flipped = torch.cat([c for c, _ in decoded]), torch.cat([f for _, f in decoded])
    return torch.bincount(cell, minlength=CELLS).double(), float(flipped.double().mean()), len(cell)


def augmentation_distribution(device: torch.device, count: int) -> dict:
    span = torch.arange(1, 33, dtype=torch.uint8)
    image = torch.zeros(3, 32, 32, dtype=torch.uint8)
    image[0], image[1] = span[:, None], span[None, :]
    images, labels = image.expand(count, 3, 32, 32).contiguous(), torch.zeros(count).long()
    on_device = DeviceCifarBatches(images, labels, 150, seed=4, device=device, stats=UNIT)
    loader = loader_batches(images, labels, 150, seed=4, num_workers=0, pin_memory=False,
                            stats=UNIT)  # fmt: skip
    device_hist, flips, seen = histogram_of(on_device.batches(epoch=2))
    loader_hist, _, _ = histogram_of(loader.batches(epoch=2))
    table = torch.stack([device_hist, loader_hist])
    expected = table.sum(1, keepdim=True) * table.sum(0, keepdim=True) / table.sum()
    used = expected[0] > 0
    details = {
        "device": str(device), "images": count, "samples_decoded": seen,
        "uniformity_p": chi_square_p(device_hist, device_hist.mean(), CELLS - 1),
        "homogeneity_with_dataloader_p": chi_square_p(
            table[:, used], expected[:, used], int(used.sum()) - 1),
        "flip_rate": flips, "flip_tolerance": 4 * math.sqrt(0.25 / count),
    }  # fmt: skip
    uniform, homogeneous = details["uniformity_p"], details["homogeneity_with_dataloader_p"]
    return failed(details, [
        seen != count and f"{seen} samples decoded, expected {count}",
        uniform <= P_MIN and f"offsets not uniform (p = {uniform:.2g})",
        homogeneous <= P_MIN and "offsets differ from the DataLoader pipeline's",
        abs(flips - 0.5) >= details["flip_tolerance"] and f"flip rate {flips:.3f}",
    ])  # fmt: skip


def same_batches_as_cpu(device: torch.device) -> dict:
    images, labels = random_cifar(300, seed=5)[0], torch.arange(300)
    on_device = DeviceCifarBatches(images, labels, 64, seed=7, device=device)
    on_cpu = DeviceCifarBatches(images, labels, 64, seed=7, device=torch.device("cpu"))
    worst, batches = 0.0, 0
    for epoch in (0, 3):
        pairs = zip(on_device.batches(epoch), on_cpu.batches(epoch), strict=True)
        for (x, y), (x_cpu, y_cpu) in pairs:
            assert x.device.type == device.type, f"batch on {x.device}, expected {device}"
            assert torch.equal(y.cpu(), y_cpu), f"epoch {epoch}: labels differ from the CPU's"
            worst, batches = max(worst, float((x.cpu() - x_cpu).abs().max())), batches + 1
    details = {"device": str(device), "batches": batches, "max_abs_difference": worst}
    return failed(details, [worst > 1e-6 and f"images differ by {worst:.2e}"])


def exact_resume(device: torch.device) -> dict:
    images, labels = random_cifar(45, seed=3)[0], torch.arange(45)

    def batches(epoch: int, start: int = 0) -> list:
        source = DeviceCifarBatches(images, labels, 8, seed=21, device=device)
        return list(source.batches(epoch=epoch, start=start))

    full = batches(3)
    assert [len(y) for _, y in full] == [8, 8, 8, 8, 8, 5], [len(y) for _, y in full]
    for start in (1, 4, 5, 6):
        resumed = batches(3, start)
        assert len(resumed) == len(full) - start, f"start {start}: {len(resumed)} batches"
        for (x, y), (x_full, y_full) in zip(resumed, full[start:], strict=True):
            assert torch.equal(x, x_full) and torch.equal(y, y_full), f"start {start} differs"
    assert not torch.equal(batches(4)[0][1], full[0][1]), "epochs 3 and 4 start alike"
    assert sorted(torch.cat([y for _, y in full]).tolist()) == list(range(45)), "not a permutation"
    return {"device": str(device), "starts": [1, 4, 5, 6], "epoch_batches": len(full)}


MOVE_CASES: list[tuple[str, dict]] = [
    ("Adam", dict(lr=1e-2, weight_decay=0.1)), ("AdamW", dict(lr=1e-2)),
    ("AMSGrad", dict(lr=1e-2)), ("RAdam", dict(lr=1e-2, weight_decay=0.1)),
    ("AdaBound", dict(lr=1e-2, weight_decay=1e-3)), ("AMSBound", dict(lr=1e-2)),
    ("Adam2k", dict(lr=1e-2, weight_decay=0.1, freeze_steps=15)),
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=1e-3)),
]  # fmt: skip
MOVE_STEPS, MOVES = 30, (0, 10, 20)  # a new optimizer loads the moved state at each move


def reference_on_device(device: torch.device, limit: int | None, time_left: Callable) -> dict:
    """Every case (or the first ``limit``), weight decay on, foreach and per-tensor paths."""
    names = list(reference.CASES_BY_NAME)[:limit]
    results, failures = {}, []
    for name in names:
        if time_left() < 2.0:
            break
        expected = reference.reference_trajectory(name, True)
        for mode in ("foreach", "per_tensor"):
            actual = reference.library_trajectory(reference.CASES_BY_NAME[name], True, mode, device)
            error = np.abs(actual - expected)
            bad = error > reference.RTOL * np.abs(expected) + reference.ATOL
            worst = float(np.max(error / (np.abs(expected) + reference.ATOL / reference.RTOL)))
            results[f"{name}/{mode}"] = {"mismatches": int(bad.sum()), "worst_rel": worst}
            if bad.any():
                step, coord = np.argwhere(bad)[0]
                failures.append(f"{name} {mode}: first mismatch at step {step + 1}, coord {coord}")
    ran = len(results) // 2
    details = {"device": str(device), "cases_run": ran, "cases_total": len(reference.CASES_BY_NAME),
               "steps": reference.STEPS, "rtol": reference.RTOL, "failures": failures,
               "results": results}  # fmt: skip
    if not failures and ran < len(names):
        return {**details, "why": f"out of time after {ran} cases"}
    return failed(details, failures[:3])


def _trajectory(name: str, legs: list[tuple[torch.device, dict]]) -> list[torch.Tensor]:
    """At each of ``MOVES`` a new optimizer on the next leg's device loads the moved state."""
    shapes = [(6, 3, 3, 3), (6,), (10, 12), ()]
    generator = torch.Generator().manual_seed(2)
    params = [torch.randn(shape, generator=generator) for shape in shapes]
    generator = torch.Generator().manual_seed(3)
    grads = [[torch.randn(shape, generator=generator) * (1.0 + 3.0 * (t % 7 == 0))
              for shape in shapes] for t in range(MOVE_STEPS)]  # fmt: skip
    optimizer: torch.optim.Optimizer | None = None
    for t, step_grads in enumerate(grads):
        if t in MOVES:
            device, kwargs = legs[MOVES.index(t)]
            if optimizer is not None:
                buffer = io.BytesIO()
                torch.save(optimizer.state_dict(), buffer)
                buffer.seek(0)
            params = [torch.nn.Parameter(p.detach().to(device)) for p in params]
            optimizer = getattr(optimizers, name)(params, **kwargs)
            if t:
                optimizer.load_state_dict(torch.load(buffer, map_location=device))
                state = optimizer.state[params[0]].values()
                on = {v.device for v in state if torch.is_tensor(v) and v.dim()}
                assert on <= {params[0].device}, f"{name}: state on {on} after the move"
        for param, grad in zip(params, step_grads, strict=True):
            param.grad = grad.to(param.device)
        optimizer.step()
    return [p.detach().cpu() for p in params]


def state_dict_moves(device: torch.device, fused: bool) -> dict:
    cpu = torch.device("cpu")
    cases = [(name, kwargs, kwargs) for name, kwargs in MOVE_CASES]
    if fused:
        radam = dict(lr=1e-2, weight_decay=0.1)
        cases.append(("RAdam", radam, {**radam, "fused": True}))
    results, failures = {}, []
    for name, cpu_kwargs, device_kwargs in cases:
        label = name + (" (fused on the device)" if device_kwargs.get("fused") else "")
        alone = _trajectory(name, [(cpu, cpu_kwargs)] * 3)
        moved = _trajectory(name, [(cpu, cpu_kwargs), (device, device_kwargs), (cpu, cpu_kwargs)])
        worst = max(float((a - b).abs().max() / (b.abs().max() + 1e-12))
                    for a, b in zip(moved, alone, strict=True))  # fmt: skip
        results[label] = {"worst_rel_to_max": worst}
        if worst > 1e-5:
            failures.append(f"{label}: {worst:.2e}")
    details = {"path": f"cpu → {device} at step {MOVES[1]}, → cpu at step {MOVES[2]}",
               "steps": MOVE_STEPS, "tolerance": 1e-5, "results": results}  # fmt: skip
    if device.type == "cpu":
        details["note"] = "CUDA-only: on the CPU the state moves CPU → CPU"
    return failed(details, failures)
