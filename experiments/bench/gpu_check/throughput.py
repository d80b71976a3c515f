"""ResNet-20 CIFAR-10 training throughput on the device (issue 15, point 3), and the other tasks'.

Eight variants — both pipelines (``device``: data on the GPU; ``dataloader``: DataLoader
workers) × {fp32, bf16 autocast} × {channels_last off, on} — train through the real loop on
synthetic data of the real shapes (``loop_runs.run_loop``, evaluation off), one run per variant
per repeat, the variants interleaved so load drifts hit them alike. A run's speed is its
steady-state seconds per update between log points after the first windows (warm-up, cuDNN
autotuning, compilation). On the fastest variant then: ``torch.compile`` (``task.compile``),
``deterministic=false`` (cuDNN autotuning on; its cost is what keeping ``deterministic=true`` as
the CUDA default costs), and the loop's overhead against a bare loop as ``scripts.bench_train``
measures it (its ``time_loop`` and ``time_bare``: slopes between runs of N and 3N updates). The
implied time of one 164-epoch run adds the measured evaluation of the 10,000 test images (batch
1000, on the device) at each epoch end. Tasks of the language-model and translation families are
timed the same way (tokens/s) when their configs exist.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from omegaconf import open_dict

from experiments.assembly import build_run
from experiments.bench.gpu_check.loop_runs import recipe_config, run_loop
from experiments.bench.gpu_check.plan import NOT_IN_TINY, Sizes
from experiments.bench.gpu_check.record import Outcome, Section
from experiments.bench.train_throughput import (
    CIFAR_STEPS_PER_EPOCH,
    compose_task,
    time_bare,
    time_loop,
)
from experiments.config_checks import ConfigError
from experiments.distributed import SINGLE_PROCESS
from experiments.loop import evaluate
from experiments.tasks.contract import Evaluation
from experiments.torch_startup import seed_everything

EPOCHS = 164
TASK_CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "task"
TOKEN_FAMILIES = ("iwslt14_", "lm1b_", "ptb_", "wmt16_")
FASTEST_RESERVE_S = 45.0
"""What the runs on the fastest variant need after the grid (compilation included)."""


def variants() -> dict[str, tuple[str, ...]]:
    found = {}
    for pipeline in ("device", "dataloader"):
        for precision in ("fp32", "bf16"):
            for channels_last in (False, True):
                name = f"{pipeline}/{precision}" + ("/channels_last" if channels_last else "")
                found[name] = (
                    f"task.pipeline={pipeline}",
                    f"task.precision={precision}",
                    f"task.channels_last={str(channels_last).lower()}",
                )
    return found


def timing(sizes: Sizes) -> tuple[int, int]:
    """(log_every, warm-up windows dropped) for a timed run of ``throughput_steps`` updates."""
    log_every = max(1, sizes.throughput_steps // 15)
    return log_every, max(2, math.ceil(sizes.throughput_steps / log_every / 5))


def timed_run(sizes: Sizes, device: torch.device, *overrides: str) -> dict:
    log_every, warmup = timing(sizes)
    cfg = recipe_config(
        sizes, device, *overrides, f"max_steps={sizes.throughput_steps}", f"log_every={log_every}"
    )
    run = run_loop(cfg, device, evaluation=False)
    if not run.finished():
        raise Outcome("fail", f"{overrides}: the loop ended {run.summary['status']}")
    per_update = run.steady_s_per_update(warmup)
    return {
        "s_per_update": per_update,
        "samples_per_s": sizes.batch_size / per_update,
        "warmup_s": run.first_window_s() - log_every * per_update,
        "run_wall_s": run.wall_s,
    }


def variant_figures(sizes: Sizes, device: torch.device, time_left: Callable[[], float]) -> dict:
    runs: dict[str, list[dict]] = {name: [] for name in variants()}
    for _ in range(sizes.throughput_repeats):
        started = time.perf_counter()
        for name, overrides in variants().items():
            runs[name].append(timed_run(sizes, device, *overrides))
        # Another repeat only if it would leave the fastest variant's own runs their time.
        if time_left() < 2 * (time.perf_counter() - started) + FASTEST_RESERVE_S:
            break
    figures = {}
    for name, results in runs.items():
        per_update = statistics.median(r["s_per_update"] for r in results)
        figures[name] = {
            "samples_per_s": sizes.batch_size / per_update,
            "s_per_update": per_update,
            "repeats": len(results),
            "spread_samples_per_s": [sizes.batch_size / r["s_per_update"] for r in results],
        }
    fastest = min(figures, key=lambda name: figures[name]["s_per_update"])
    baseline = figures["device/fp32" if device.type == "cuda" else "dataloader/fp32"]
    return {
        "variants": figures,
        "fastest": fastest,
        "fastest_vs_default_fp32": figures[fastest]["samples_per_s"] / baseline["samples_per_s"],
    }


def on_fastest(sizes: Sizes, device: torch.device, fastest: str, extra: str) -> dict:
    """The fastest variant with one more override; ``warmup_s`` (the first window's time beyond
    its steady-state share) holds the compilation when ``extra`` is ``task.compile=true``."""
    return timed_run(sizes, device, *variants()[fastest], extra)


def loop_overhead(sizes: Sizes, device: torch.device, fastest: str) -> dict:
    """``scripts.bench_train``'s loop-vs-bare slopes on the fastest variant."""
    cfg = recipe_config(sizes, device, *variants()[fastest])
    slopes = {}
    for name, timer in (("bare", time_bare), ("loop", time_loop)):
        seconds = []
        for count in (sizes.overhead_steps, 3 * sizes.overhead_steps):
            with open_dict(cfg):
                cfg.max_steps = count
            seconds.append(timer(cfg, device, count)[0])
        slopes[name] = (seconds[1] - seconds[0]) / (2 * sizes.overhead_steps)
    return {
        "loop_s_per_update": slopes["loop"],
        "bare_s_per_update": slopes["bare"],
        "loop_overhead": slopes["loop"] / slopes["bare"] - 1,
        "steps": [sizes.overhead_steps, 3 * sizes.overhead_steps],
    }


def evaluation_seconds(sizes: Sizes, device: torch.device, fastest: str) -> float:
    """One evaluation of the synthetic test split (the real build keeps it on the device)."""
    cfg = recipe_config(sizes, device, *variants()[fastest])
    seed_everything(cfg.seed, cfg.deterministic)
    built = build_run(cfg, SINGLE_PROCESS, device, synthetic=True)
    task, model, options = built.task, built.model, built.options
    for source in task.eval_sources.values():
        source.images, source.labels = source.images.to(device), source.labels.to(device)
    seconds = []
    for number in (1, 2, 3):
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        evaluate(task, model, SINGLE_PROCESS, device, options, Evaluation(number, False, False))
        seconds.append(time.perf_counter() - started)  # evaluate reads its sums: synchronised
    return statistics.median(seconds[1:])


def implied_run_minutes(per_update: float, evaluation_s: float, compile_s: float) -> float:
    return (EPOCHS * CIFAR_STEPS_PER_EPOCH * per_update + EPOCHS * evaluation_s + compile_s) / 60


def token_tasks() -> list[str]:
    """The first config of each language-model and translation family present (one per family:
    the section has seconds, not minutes, for them)."""
    names = sorted(path.stem for path in TASK_CONFIGS.glob("*.yaml"))
    return [
        found[0]
        for family in TOKEN_FAMILIES
        if (found := [n for n in names if n.startswith(family)])
    ]


def token_throughput(task: str, device: torch.device, steps: int) -> dict:
    """Tokens/s of ``task``'s recipe through the loop, on its module's synthetic data."""
    log_every = max(1, steps // 10)
    overrides = ["launcher=inline", f"max_steps={steps}", f"log_every={log_every}"]
    cfg = compose_task(task, device.type, overrides)
    try:
        run = run_loop(cfg, device, evaluation=False)
    except ConfigError as error:  # no synthetic builder, and no data here
        raise Outcome("skipped", f"{cfg.task.build}: {error}") from None
    if not run.finished():
        raise Outcome("fail", f"{task}: the loop ended {run.summary['status']}")
    per_update = run.steady_s_per_update(2)
    units = run.summary["throughput"]["per_s"] * run.summary["time_train"] / run.summary["steps"]
    unit = run.summary["throughput"]["unit"]
    return {
        "unit": unit,
        "units_per_update": units,
        "s_per_update": per_update,
        f"{unit}_per_s": units / per_update,
        "precision": cfg.task.get("precision", "fp32"),
    }


def run(section: Section, sizes: Sizes, device: torch.device) -> dict:
    """Section 3; returns the figures the defaults are decided from."""
    found: dict = {}
    left = lambda: section.clock.left(section.name)  # noqa: E731 - read at each call
    grid = section.run(
        "resnet20: pipelines × precision × channels_last",
        lambda: {**variant_figures(sizes, device, left), "status": "measured"},
        needs_s=10,
    )
    if grid is None:
        for name in ("torch.compile", "deterministic=false", "the loop against a bare loop",
                     "one evaluation", "implied time of one 164-epoch run"):  # fmt: skip
            section.add(f"resnet20: {name}", "skipped", "the variant grid did not finish", 0, {})
        return found
    found["grid"] = grid
    fastest = grid["fastest"]
    if sizes.runs("compile"):
        found["compile"] = section.run(
            f"resnet20: torch.compile on the fastest variant ({fastest})",
            lambda: {
                **on_fastest(sizes, device, fastest, "task.compile=true"),
                "status": "measured",
            },
            needs_s=30,
        )
    else:
        section.add(
            "resnet20: torch.compile on the fastest variant",
            "skipped",
            NOT_IN_TINY.format(step="compile"),
            0.0,
            {},
        )
    found["nondeterministic"] = section.run(
        f"resnet20: deterministic=false (cuDNN autotuning) on {fastest}",
        lambda: {**on_fastest(sizes, device, fastest, "deterministic=false"), "status": "measured"},
        needs_s=8,
    )
    found["overhead"] = section.run(
        f"resnet20: the loop against a bare loop on {fastest} (scripts.bench_train)",
        lambda: {**loop_overhead(sizes, device, fastest), "status": "measured"},
        needs_s=10,
    )
    found["evaluation_s"] = section.run(
        "resnet20: one evaluation of the 10,000 test images (batch 1000)",
        lambda: {"seconds": evaluation_seconds(sizes, device, fastest), "status": "measured"},
    )
    section.run("resnet20: implied time of one 164-epoch run", lambda: implied(found, grid))
    for task in token_tasks():
        section.run(
            f"{task}: tokens/s through the loop",
            lambda t=task: tokens(sizes, device, t),
            needs_s=20,
        )
    return found


def implied(found: dict, grid: dict) -> dict:
    per_update = grid["variants"][grid["fastest"]]["s_per_update"]
    setting, compile_s = grid["fastest"], 0.0
    compiled = found.get("compile")
    if compiled and compiled["s_per_update"] < per_update:
        per_update, setting = compiled["s_per_update"], setting + " + compile"
        compile_s = max(compiled["warmup_s"], 0.0)
    evaluation = (found.get("evaluation_s") or {}).get("seconds", 0.0)
    minutes = implied_run_minutes(per_update, evaluation, compile_s)
    return {
        "setting": setting,
        "s_per_update": per_update,
        "evaluation_s": evaluation,
        "compile_s": compile_s,
        "minutes": minutes,
        "goal_minutes": 5.0,
        "status": "measured",
        "why": None if minutes < 5 else "over the 5-minute goal",
    }


def tokens(sizes: Sizes, device: torch.device, task: str) -> dict:
    if sizes.tiny:
        raise Outcome("skipped", "real vocabularies: timed on CUDA only")
    return {**token_throughput(task, device, 60), "status": "measured"}
