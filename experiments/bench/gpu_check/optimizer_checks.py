"""Optimizer faithfulness on the device: float64 reference math, and state moved CPU ↔ device.

``reference_on_device`` runs the cases of ``optimizers.reference_cases`` (the 500-step suite of
``tests/optimizers/test_reference.py``) on float64 parameters held on the device, foreach and
per-tensor paths, against the float64 reference trajectories computed with numpy on the host, at
the same tolerance (1e-10 relative). ``state_dict_moves`` trains 30 steps with the optimizer's
``state_dict`` carried CPU → device after step 10 and device → CPU after step 20 through
``torch.save`` / ``torch.load(weights_only=True, map_location=…)``, against 30 steps on the CPU.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import torch

import optimizers
from experiments.bench.gpu_check.record import failed
from optimizers import reference_cases as reference

MOVE_CASES: list[tuple[str, dict]] = [
    ("Adam", dict(lr=1e-2, weight_decay=0.1)),
    ("AdamW", dict(lr=1e-2)),
    ("AMSGrad", dict(lr=1e-2)),
    ("RAdam", dict(lr=1e-2, weight_decay=0.1)),
    ("AdaBound", dict(lr=1e-2, weight_decay=1e-3)),
    ("AMSBound", dict(lr=1e-2)),
    ("Adam2k", dict(lr=1e-2, weight_decay=0.1, freeze_steps=15)),
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=1e-3)),
]
MOVE_STEPS, FIRST_MOVE, SECOND_MOVE = 30, 10, 20


def reference_on_device(
    device: torch.device, limit: int | None, time_left: Callable[[], float]
) -> dict:
    """Every case (or the first ``limit``), weight decay on, foreach and per-tensor paths."""
    names = list(reference.CASES_BY_NAME)[:limit]
    results, failures = {}, []
    for name in names:
        if time_left() < 2.0:
            break
        case = reference.CASES_BY_NAME[name]
        expected = reference.reference_trajectory(name, True)
        for mode in ("foreach", "per_tensor"):
            actual = reference.library_trajectory(case, True, mode, device)
            error = np.abs(actual - expected)
            bad = error > reference.RTOL * np.abs(expected) + reference.ATOL
            worst = float(np.max(error / (np.abs(expected) + reference.ATOL / reference.RTOL)))
            results[f"{name}/{mode}"] = {"mismatches": int(bad.sum()), "worst_rel": worst}
            if bad.any():
                step, coord = np.argwhere(bad)[0]
                failures.append(f"{name} {mode}: first mismatch at step {step + 1}, coord {coord}")
    ran = len(results) // 2
    details = {
        "device": str(device),
        "cases_run": ran,
        "cases_total": len(reference.CASES_BY_NAME),
        "steps": reference.STEPS,
        "rtol": reference.RTOL,
        "failures": failures,
        "results": results,
    }
    if failures:
        return {**details, "status": "fail", "why": "; ".join(failures[:3])}
    if ran < len(names):
        return {**details, "status": "pass", "why": f"out of time after {ran} cases"}
    return details


def _gradients(shapes: list[tuple[int, ...]]) -> list[list[torch.Tensor]]:
    generator = torch.Generator().manual_seed(3)
    return [
        [torch.randn(shape, generator=generator) * (1.0 + 3.0 * (t % 7 == 0)) for shape in shapes]
        for t in range(MOVE_STEPS)
    ]


def _moved(state: dict, device: torch.device) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True, map_location=device)


Leg = tuple[torch.device, dict]


def _trajectory(name: str, legs: list[Leg]) -> list[torch.Tensor]:
    """30 steps of one optimizer; at steps 0, 10 and 20 the parameters move to the next leg's
    device and a new optimizer with that leg's keywords loads the moved ``state_dict``."""
    shapes = [(6, 3, 3, 3), (6,), (10, 12), ()]
    generator = torch.Generator().manual_seed(2)
    params = [torch.randn(shape, generator=generator) for shape in shapes]
    cls = getattr(optimizers, name)
    optimizer: torch.optim.Optimizer | None = None
    for t, grads in enumerate(_gradients(shapes)):
        if t in (0, FIRST_MOVE, SECOND_MOVE):
            device, kwargs = legs[(0, FIRST_MOVE, SECOND_MOVE).index(t)]
            state = None if optimizer is None else _moved(optimizer.state_dict(), device)
            params = [torch.nn.Parameter(p.detach().to(device)) for p in params]
            optimizer = cls(params, **kwargs)
            if state is not None:
                optimizer.load_state_dict(state)
                for value in optimizer.state[params[0]].values():
                    if (
                        torch.is_tensor(value)
                        and value.dim() > 0
                        and value.device != params[0].device
                    ):
                        raise AssertionError(f"{name}: state on {value.device} after the move")
        for param, grad in zip(params, grads, strict=True):
            param.grad = grad.to(param.device)
        optimizer.step()
    return [p.detach().cpu() for p in params]


def state_dict_moves(device: torch.device, fused: bool) -> dict:
    """Each case moved CPU → device → CPU against the CPU alone (see the module docstring);
    with ``fused`` also RAdam with its fused step on the device leg (CPU legs: foreach)."""
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
        worst = max(
            float((a - b).abs().max() / (b.abs().max() + 1e-12))
            for a, b in zip(moved, alone, strict=True)
        )
        results[label] = {"worst_rel_to_max": worst}
        if worst > 1e-5:
            failures.append(f"{label}: {worst:.2e}")
    details = {
        "path": f"cpu → {device} at step {FIRST_MOVE}, → cpu at step {SECOND_MOVE}",
        "steps": MOVE_STEPS,
        "tolerance": 1e-5,
        "results": results,
    }
    if device.type == "cpu":
        details["note"] = "CUDA-only: on the CPU the state moves CPU → CPU"
    return failed(details, failures)
