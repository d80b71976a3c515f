"""Section 3: ResNet-20 samples/s through the real loop for the variant grid, then on the fastest
variant compile, autotuning, loop overhead, evaluation and the implied 164-epoch run; tokens/s of
the language tasks (docs/gpu_check.md)."""

import itertools
import math
import statistics
import time
from argparse import Namespace
from pathlib import Path

import torch

from experiments.assembly import build_run
from experiments.bench.gpu_check.loop_runs import RECIPE, base_overrides, recipe_config, run_loop
from experiments.bench.gpu_check.plan import Sizes
from experiments.bench.gpu_check.record import Outcome, Section, optional
from experiments.bench.train_throughput import CIFAR_STEPS_PER_EPOCH as STEPS_PER_EPOCH
from experiments.bench.train_throughput import bench, compose_task
from experiments.config_checks import ConfigError
from experiments.distributed import SINGLE_PROCESS
from experiments.loop import evaluate
from experiments.tasks.contract import Evaluation
from experiments.torch_startup import seed_everything

EPOCHS = 164
TASK_CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "task"
TOKEN_FAMILIES = ("iwslt14_", "lm1b_", "ptb_", "wmt16_")
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
            "warmup_s": run.log_times()[0] - log_every * per_update, "run_wall_s": run.wall_s,
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
    """``scripts.bench_train``'s loop-vs-bare slopes between runs of N and 3N updates."""
    overrides = [*base_overrides(sizes), *VARIANTS[fastest]]
    found = bench(RECIPE, Namespace(device=device.type, set=overrides, repeats=1,
                                    steps=sizes.overhead_steps))  # fmt: skip
    return {"loop_s_per_update": found["loop_s_per_step"], "status": "measured",
            "bare_s_per_update": found["bare_s_per_step"], "steps": sizes.overhead_steps,
            "loop_overhead": found["loop_overhead_median"]}  # fmt: skip


def evaluation_seconds(sizes: Sizes, device: torch.device, fastest: str) -> dict:
    """One evaluation of the synthetic test split held on the device (median of the last 2)."""
    cfg = recipe_config(sizes, device, *VARIANTS[fastest])
    seed_everything(cfg.seed, cfg.deterministic)
    built = build_run(cfg, SINGLE_PROCESS, device, synthetic=True)
    for source in built.task.eval_sources.values():
        source.images, source.labels = source.images.to(device), source.labels.to(device)
    seconds = []
    for number in (1, 2, 3):
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()  # evaluate reads its sums: synchronised at its end
        evaluate(built.task, built.model, SINGLE_PROCESS, device, built.options,
                 Evaluation(number, False, False))  # fmt: skip
        seconds.append(time.perf_counter() - started)
    return {"seconds": statistics.median(seconds[1:]), "status": "measured"}


def implied(found: dict) -> dict:
    setting = found["grid"]["fastest"]
    per_update, compile_s = found["grid"]["variants"][setting]["s_per_update"], 0.0
    if (compiled := found.get("compile")) and compiled["s_per_update"] < per_update:
        per_update, setting = compiled["s_per_update"], setting + " + compile"
        compile_s = max(compiled["warmup_s"], 0.0)
    evaluation = (found.get("evaluation") or {}).get("seconds", 0.0)
    minutes = (EPOCHS * (STEPS_PER_EPOCH * per_update + evaluation) + compile_s) / 60
    return {"setting": setting, "s_per_update": per_update, "evaluation_s": evaluation,
            "compile_s": compile_s, "minutes": minutes, "goal_minutes": 5.0, "status": "measured",
            "why": None if minutes < 5 else "over the 5-minute goal"}  # fmt: skip


def tokens(sizes: Sizes, device: torch.device, task: str, steps: int = 60) -> dict:
    """Tokens/s of ``task``'s recipe through the loop, on its module's synthetic data."""
    if sizes.tiny:
        raise Outcome("skipped", "real vocabularies: timed on CUDA only")
    overrides = ["launcher=inline", f"max_steps={steps}", f"log_every={steps // 10}"]
    cfg = compose_task(task, device.type, overrides)
    try:
        run = run_loop(cfg, device, evaluation=False)
    except ConfigError as error:  # no synthetic builder, and no data here
        raise Outcome("skipped", f"{cfg.task.build}: {error}") from None
    per_update, summary = run.steady_s_per_update(2), run.summary
    unit = summary["throughput"]["unit"]
    units = summary["throughput"]["per_s"] * summary["time_train"] / summary["steps"]
    return {"unit": unit, "units_per_update": units, "s_per_update": per_update,
            f"{unit}_per_s": units / per_update, "precision": cfg.task.get("precision", "fp32"),
            "status": "measured"}  # fmt: skip


def run(section: Section, sizes: Sizes, device: torch.device) -> None:
    grid = section.run("resnet20: pipelines × precision × channels_last",
                       lambda: variant_grid(section, sizes, device), needs_s=10)  # fmt: skip
    fastest, found = grid["fastest"] if grid else "the fastest variant", {"grid": grid}
    on_fastest = lambda extra: timed_run(sizes, device, *VARIANTS[fastest], extra)  # noqa: E731
    items = [
        ("compile", f"resnet20: torch.compile on the fastest variant ({fastest})", 30,
         lambda: optional(sizes, "compile", lambda: on_fastest("task.compile=true"))),
        ("nondeterministic", f"resnet20: deterministic=false (cuDNN autotuning) on {fastest}", 8,
         lambda: on_fastest("deterministic=false")),
        ("overhead", f"resnet20: the loop against a bare loop on {fastest} (scripts.bench_train)",
         10, lambda: loop_overhead(sizes, device, fastest)),
        ("evaluation", "resnet20: one evaluation of the 10,000 test images (batch 1000)", None,
         lambda: evaluation_seconds(sizes, device, fastest)),
        ("implied", "resnet20: implied time of one 164-epoch run", None, lambda: implied(found)),
    ]  # fmt: skip
    for key, name, needs_s, item in items:
        if grid is None:
            section.add(name, "skipped", "the variant grid did not finish", 0.0, {})
        else:
            found[key] = section.run(name, item, needs_s=needs_s)
    names = sorted(path.stem for path in TASK_CONFIGS.glob("*.yaml"))
    for task in [next((n for n in names if n.startswith(f)), None) for f in TOKEN_FAMILIES]:
        if task:  # the first config of each family present
            item = lambda t=task: tokens(sizes, device, t)  # noqa: E731
            section.run(f"{task}: tokens/s through the loop", item, needs_s=20)
