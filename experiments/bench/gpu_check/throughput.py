"""Section 3: ResNet-20 samples/s through the real loop (docs/gpu_check.md)."""

import itertools
import math
import statistics
import time
from argparse import Namespace

import torch

from experiments.bench.gpu_check.loop_runs import RECIPE, base_overrides, recipe_config, run_loop
from experiments.bench.gpu_check.plan import Sizes
from experiments.bench.gpu_check.record import Section, optional
from experiments.bench.train_throughput import bench

FASTEST_RESERVE_S = 45.0  # what the runs on the fastest variant need after the grid
VARIANTS = {
    f"{pipeline}/{precision}" + "/channels_last" * (cl == "true"): (
        f"task.pipeline={pipeline}", f"task.precision={precision}", f"task.channels_last={cl}")
    for pipeline, precision, cl in itertools.product(
        ("device", "dataloader"), ("fp32", "bf16"), ("false", "true"))
}  # fmt: skip


def timed_run(sizes: Sizes, device: torch.device, *overrides: str) -> dict:
    """Steady-state seconds per update between log points after the warm-up windows."""
    log_every = max(1, sizes.throughput_steps // 15)
    warmup = max(2, math.ceil(sizes.throughput_steps / log_every / 5))
    steps = (f"max_steps={sizes.throughput_steps}", f"log_every={log_every}")
    run = run_loop(recipe_config(sizes, device, *overrides, *steps), device, evaluation=False)
    per_update = run.steady_s_per_update(warmup)
    return {"s_per_update": per_update, "samples_per_s": sizes.batch_size / per_update,
            "warmup_s": run.logged("time")[0] - log_every * per_update, "run_wall_s": run.wall_s,
            "status": "measured"}  # fmt: skip


def variant_grid(section: Section, sizes: Sizes, device: torch.device) -> dict:
    """The variants interleaved; another repeat only if it leaves the fastest's runs time."""
    runs: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(sizes.throughput_repeats):
        started = time.perf_counter()
        for name, overrides in VARIANTS.items():
            runs[name].append(timed_run(sizes, device, *overrides)["s_per_update"])
        if section.left() < 2 * (time.perf_counter() - started) + FASTEST_RESERVE_S:
            break
    figures = {name: {"samples_per_s": sizes.batch_size / statistics.median(seconds),
                      "s_per_update": statistics.median(seconds), "repeats": len(seconds),
                      "spread_samples_per_s": [sizes.batch_size / s for s in seconds]}
               for name, seconds in runs.items()}  # fmt: skip
    fastest = min(figures, key=lambda name: figures[name]["s_per_update"])
    baseline = figures["device/fp32" if device.type == "cuda" else "dataloader/fp32"]
    ratio = figures[fastest]["samples_per_s"] / baseline["samples_per_s"]
    return {"variants": figures, "fastest": fastest, "fastest_vs_default_fp32": ratio,
            "status": "measured"}  # fmt: skip


def loop_overhead(sizes: Sizes, device: torch.device, fastest: str) -> dict:
    overrides = [*base_overrides(sizes), *VARIANTS[fastest]]
    found = bench(RECIPE, Namespace(device=device.type, set=overrides, repeats=1,
                                    steps=sizes.overhead_steps))  # fmt: skip
    return {"loop_s_per_update": found["loop_s_per_step"], "status": "measured",
            "bare_s_per_update": found["bare_s_per_step"], "steps": sizes.overhead_steps,
            "loop_overhead": found["loop_overhead_median"]}  # fmt: skip


def run(section: Section, sizes: Sizes, device: torch.device) -> None:
    grid = section.run("resnet20: pipelines × precision × channels_last",
                       lambda: variant_grid(section, sizes, device), needs_s=10)  # fmt: skip
    fastest = grid["fastest"] if grid else "the fastest variant"
    compiled = lambda: timed_run(sizes, device, *VARIANTS[fastest], "task.compile=true")  # noqa: E731
    items = [
        (f"resnet20: torch.compile on the fastest variant ({fastest})", 30,
         lambda: optional(sizes, "compile", compiled)),
        (f"resnet20: the loop against a bare loop on {fastest} (scripts.bench_train)", 10,
         lambda: loop_overhead(sizes, device, fastest)),
    ]  # fmt: skip
    for name, needs_s, item in items:
        if grid is None:
            section.add(name, "skipped", "the variant grid did not finish", 0.0, {})
        else:
            section.run(name, item, needs_s=needs_s)
