"""Section 4: should the suite pack runs? (issue 15, point 5)

First, on the CPU, K packed members (``packed_members``) against K separate runs, and the
element-wise optimizer steps on stacked members against each member's own. Then throughput, in
samples/s of all members together: one run (the plain step on one model), K packed members, one
run whose whole step (forward, backward, SGD) replays as a CUDA graph, and K separate processes
sharing the device (``packing_worker``), all on the device pipeline's synthetic batches (fp32;
an epoch's shorter last batch is skipped so shapes stay static). The suite builds a packed mode
only if packing beats K processes by ≥ 1.5×.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from experiments.bench.gpu_check.packed_members import (
    PackedMembers,
    elementwise_step_matches,
    members,
    packed_matches_separate,
    separate_step,
    sgd,
    sources,
)
from experiments.bench.gpu_check.plan import Sizes
from experiments.bench.gpu_check.record import Section

PROJECT = Path(__file__).resolve().parents[3]
PACKING_IMAGES = 10_000
"""Synthetic images per member on CUDA: the step's cost does not depend on how many there are,
and sixteen processes each building 50,000 would spend the section on set-up."""
FLOAT64_TOLERANCE, FLOAT32_TOLERANCE = 1e-10, 1e-4


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(step: Callable[[], object], warmup: int, steps: int, device: torch.device) -> float:
    """Seconds per call of ``step`` after ``warmup`` calls."""
    for _ in range(warmup):
        step()
    _synchronize(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    _synchronize(device)
    return (time.perf_counter() - started) / steps


def single_rate(images: int, batch: int, warmup: int, steps: int, device: torch.device) -> float:
    """Samples/s of one model's plain step (what each separate process runs)."""
    (model,) = members(1, seed=0)
    model = model.to(device)
    optimizer = sgd(list(model.parameters()))
    (stream,) = sources(1, images, batch, seed=0, device=device)
    per_step = timed(lambda: separate_step(model, optimizer, *next(stream)), warmup, steps, device)
    return batch / per_step


def packed_rate(
    count: int, images: int, batch: int, warmup: int, steps: int, device: torch.device
) -> float:
    packed = PackedMembers([model.to(device) for model in members(count, seed=0)], sgd)
    streams = sources(count, images, batch, seed=0, device=device)

    def step() -> Tensor:
        pairs = [next(stream) for stream in streams]
        return packed.step(torch.stack([x for x, _ in pairs]), torch.stack([y for _, y in pairs]))

    return count * batch / timed(step, warmup, steps, device)


def graph_rate(images: int, batch: int, warmup: int, steps: int, device: torch.device) -> float:
    """Samples/s of one model whose forward, backward and SGD step replay as one CUDA graph
    (the batch is copied into the graph's static input first)."""
    (model,) = members(1, seed=0)
    model = model.to(device)
    optimizer = sgd(list(model.parameters()))
    (stream,) = sources(1, images, batch, seed=0, device=device)
    static_x, static_y = (tensor.clone() for tensor in next(stream))
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            separate_step(model, optimizer, static_x, static_y)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    optimizer.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        loss = F.cross_entropy(model(static_x), static_y)
        loss.backward()
        optimizer.step()

    def step() -> None:
        x, y = next(stream)
        static_x.copy_(x)
        static_y.copy_(y)
        graph.replay()

    return batch / timed(step, warmup, steps, device)


def processes_rate(
    count: int,
    images: int,
    batch: int,
    warmup: int,
    steps: int,
    device: torch.device,
    timeout_s: float,
) -> dict:
    """K ``packing_worker`` processes sharing the device: all samples over the span from the
    first start to the last end of their timed steps (they start together, after a barrier)."""
    with tempfile.TemporaryDirectory() as scratch:
        barrier = Path(scratch)
        options = {"device": device.type, "images": images, "batch": batch, "warmup": warmup,
                   "steps": steps, "world": count, "barrier": barrier}  # fmt: skip
        command = [sys.executable, "-m", "experiments.bench.gpu_check.packing_worker"]
        command += [part for key, value in options.items() for part in (f"--{key}", str(value))]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        workers = [
            subprocess.Popen(
                [*command, "--rank", str(rank)],
                cwd=PROJECT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for rank in range(count)
        ]
        try:
            outputs = [worker.communicate(timeout=timeout_s)[0] for worker in workers]
        except subprocess.TimeoutExpired:
            for worker in workers:
                worker.kill()
            raise RuntimeError(f"{count} workers ran past {timeout_s:.0f} s") from None
        if any(worker.returncode for worker in workers):
            raise RuntimeError(f"a worker failed: {outputs[0].strip().splitlines()[-3:]}")
        results = [json.loads((barrier / f"result-{r}.json").read_text()) for r in range(count)]
    span = max(r["end"] for r in results) - min(r["start"] for r in results)
    own = [r["samples"] / (r["end"] - r["start"]) for r in results]
    return {
        "samples_per_s": sum(r["samples"] for r in results) / span,
        "per_process_samples_per_s": statistics.median(own),
    }


def run(section: Section, sizes: Sizes, device: torch.device) -> dict:
    """Section 4: equality on the CPU, then the rates in priority order; returns the ratios."""
    images = PACKING_IMAGES if not sizes.tiny else 4 * sizes.batch_size
    shape = (images, sizes.batch_size, sizes.packing_warmup, sizes.packing_steps, device)
    rates: dict = {}
    section.run("packed members equal separate runs (CPU, float64 and float32)", equality)
    section.run(
        f"element-wise optimizer steps on stacked members are bit-identical ({device})",
        lambda: bit_identity(device),
    )
    single = section.run(
        "one run: samples/s", lambda: {"samples_per_s": single_rate(*shape), "status": "measured"}
    )
    rates["single"] = single and single["samples_per_s"]
    for count in sizes.members:
        found = section.run(
            f"{count} packed members: samples/s of all",
            lambda k=count: {"samples_per_s": packed_rate(k, *shape), "status": "measured"},
            needs_s=3,
        )
        rates[f"packed_{count}"] = found and found["samples_per_s"]
    if device.type == "cuda":
        graph = section.run(
            "one run as a CUDA graph: samples/s",
            lambda: {"samples_per_s": graph_rate(*shape), "status": "measured"},
            needs_s=3,
        )
        rates["graph"] = graph and graph["samples_per_s"]
    else:
        section.add("one run as a CUDA graph: samples/s", "skipped", "CUDA-only", 0.0, {})
    for count in sizes.members:
        found = section.run(
            f"{count} separate processes sharing the device: samples/s of all",
            lambda k=count: {
                **processes_rate(k, *shape, timeout_s=max(section.clock.left(section.name), 120)),
                "status": "measured",
            },
            needs_s=10,
        )
        rates[f"processes_{count}"] = found and found["samples_per_s"]
    section.run("packing: ratios and the decision", lambda: decision(rates, sizes))
    return rates


def equality() -> dict:
    """2 members, 2 steps in float64 (each tensor), 1 step in float32 (the whole model)."""
    float64 = packed_matches_separate(2, 2, 4, sgd, torch.float64)
    float32 = packed_matches_separate(2, 1, 4, sgd, torch.float32)
    details = {
        "float64_2_steps": float64,
        "float32_1_step": float32,
        "tolerance": {
            "float64_per_tensor": FLOAT64_TOLERANCE,
            "float32_whole_model": FLOAT32_TOLERANCE,
        },
    }
    if not (
        float64["worst_rel_tensor"] <= FLOAT64_TOLERANCE
        and float32["worst_rel_model"] <= FLOAT32_TOLERANCE
        and float32["worst_rel_loss"] <= FLOAT32_TOLERANCE / 10
    ):
        return {**details, "status": "fail", "why": "packed members differ from separate runs"}
    return details


def bit_identity(device: torch.device) -> dict:
    import optimizers

    cases = {
        "SGD(momentum)": sgd,
        "Adam": lambda p: optimizers.Adam(p, lr=1e-2, weight_decay=0.1),
        "RAdam": lambda p: optimizers.RAdam(p, lr=1e-2, weight_decay=0.1),
        "AdaBound": lambda p: optimizers.AdaBound(p, lr=1e-2),
        "AMSGrad": lambda p: optimizers.AMSGrad(p, lr=1e-2),
    }
    results = {
        name: elementwise_step_matches(factory, 3, 8, device) for name, factory in cases.items()
    }
    if not all(results.values()):
        failed = [name for name, same in results.items() if not same]
        return {"results": results, "status": "fail", "why": f"not bit-identical: {failed}"}
    return {"results": results}


def decision(rates: dict, sizes: Sizes) -> dict:
    ratios = {}
    for count in sizes.members:
        packed, processes = rates.get(f"packed_{count}"), rates.get(f"processes_{count}")
        ratios[count] = {
            "packed_vs_processes": packed / processes if packed and processes else None,
            "packed_vs_one_run": packed / rates["single"]
            if packed and rates.get("single")
            else None,
            "packed_vs_cuda_graph_run": packed / rates["graph"]
            if packed and rates.get("graph")
            else None,
        }
    measured = [r["packed_vs_processes"] for r in ratios.values() if r["packed_vs_processes"]]
    build = bool(measured) and max(measured) >= 1.5
    verdict = ("build a packed mode" if build else "no packed mode") if measured else "undecided"
    return {
        "ratios": ratios,
        "rule": "packed ≥ 1.5 × K processes for some K",
        "decision": verdict,
        "status": "measured",
        "why": "CPU tiny sizes: not a decision" if sizes.tiny else None,
    }
