"""Training throughput per task, and the loop's overhead against a bare loop.

``python -m scripts.bench_train [--tasks digits,cifar10_resnet20,...] [--device cpu|cuda]
[--steps N] [--repeats R] [--set KEY=VALUE ...]`` (this is its library; the GPU check times the
loop against the bare loop with ``time_loop`` and ``time_bare`` too).

Every task goes through the task contract: the task module's ``synthetic`` builder when it has
one (the real model and input pipeline on synthetic data of the real shapes: CIFAR-10 uint8
images through the real crop/flip/normalize pipelines, ImageNet 224×224 tensors, token streams
at the real vocabulary), its ``build`` otherwise (``digits``: the real bundled data). Two loops
are timed in one process, interleaved, ``R`` times each:

- the suite's loop, ``experiments.loop.train``, with the run defaults of ``configs/train.yaml``
  (``log_every`` 10, ``checkpoint_every`` 200, ``deterministic`` true, …) on a throw-away run
  directory, the task's evaluation switched off (an evaluation is not a training step); and
- a bare loop over the same batches: ``to(device)``, ``task.train_step``, the loss divided by
  its units, ``zero_grad``, backward, ``step``, nothing else.

Each repeat measures the steady-state seconds per step of both as a slope (runs of N and 3N
steps, so building the model, the first steps' warm-up and the run's fixed costs cancel) and
their ratio; the record gives the median ratio with its spread (min–max over repeats), units/s
(samples or tokens), and for ResNet-20 the implied time of one 164-epoch run. Records go to
``results/bench/train-<device>.json`` with the command and the machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

from experiments.assembly import build_run
from experiments.config_checks import CONFIG_DIR
from experiments.distributed import SINGLE_PROCESS
from experiments.loop import train
from experiments.runs.prepare import scratch_run
from experiments.runs.signals import StopSignals
from experiments.tasks.contract import Task
from experiments.tasks.forwarding import ForwardingTask
from experiments.torch_startup import seed_everything

CIFAR_STEPS_PER_EPOCH = 391  # 50,000 images in batches of 128


class WithoutEvaluation(ForwardingTask):
    """A task with its evaluation switched off (the benchmark times training steps)."""

    def __init__(self, task: Task) -> None:
        super().__init__(task)
        self.eval_splits, self.checksums, self.full_eval_every, self.average = (), {}, None, None

    @property
    def selection(self) -> str:
        return self.headline


def compose_task(task: str, device: str, extra: list[str]) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("train", overrides=[f"task={task}", f"device={device}", *extra])


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Timed(NamedTuple):
    seconds: float
    units_per_update: float
    unit: str


def time_loop(cfg: DictConfig, device: torch.device, steps: int) -> Timed:
    """Seconds of ``steps`` updates of the suite's loop, and the units trained per update."""
    seed_everything(cfg.seed, cfg.deterministic)
    built = build_run(cfg, SINGLE_PROCESS, device, synthetic=True, wrap_task=WithoutEvaluation)
    with scratch_run(cfg, built, device, "bench") as prepared:
        synchronize(device)
        started = time.perf_counter()
        with StopSignals() as stop:
            code = train(cfg, prepared, SINGLE_PROCESS, stop)
        synchronize(device)
        elapsed = time.perf_counter() - started
        summary = json.loads(prepared.run.summary_path.read_text())
    if code != 0 or summary["steps"] != steps:
        raise SystemExit(f"error: the loop did not finish {steps} steps (exit {code})")
    units = summary["throughput"]["units"] / steps
    return Timed(elapsed, units, built.task.unit)


def time_bare(cfg: DictConfig, device: torch.device, steps: int) -> Timed:
    """Seconds of ``steps`` bare updates over the same batches, and the units per update."""
    seed_everything(cfg.seed, cfg.deterministic)
    built = build_run(cfg, SINGLE_PROCESS, device, synthetic=True)
    task, model, optimizer = built.task, built.model, built.optimizer
    batches = (
        batch for epoch in range(10**9) for batch in task.train_batches(epoch, 0, SINGLE_PROCESS)
    )
    units = 0
    synchronize(device)
    started = time.perf_counter()
    for _, batch in zip(range(steps), batches, strict=False):
        batch = batch.to(device)
        with built.options.autocast(device):
            loss_sum, _ = task.train_step(model, batch)
        optimizer.zero_grad(set_to_none=True)
        (loss_sum / batch.global_units).backward()
        optimizer.step()
        units += batch.global_units
    synchronize(device)
    return Timed(time.perf_counter() - started, units / steps, task.unit)


def bench(task_name: str, args: argparse.Namespace) -> dict[str, Any]:
    cfg = compose_task(task_name, args.device, args.set)
    device = torch.device(args.device)
    ratios, loop_steps, bare_steps, units, unit = [], [], [], 0.0, ""
    for _ in range(args.repeats):
        slopes = {}
        for name, timer in (("bare", time_bare), ("loop", time_loop)):
            times = []
            for count in (args.steps, 3 * args.steps):
                with open_dict(cfg):
                    cfg.max_steps = count
                seconds, units, unit = timer(cfg, device, count)
                times.append(seconds)
            slopes[name] = (times[1] - times[0]) / (2 * args.steps)
        loop_steps.append(slopes["loop"])
        bare_steps.append(slopes["bare"])
        ratios.append(slopes["loop"] / slopes["bare"])
    loop, bare = statistics.median(loop_steps), statistics.median(bare_steps)
    overhead = [ratio - 1 for ratio in ratios]
    record = {
        "task": task_name, "unit": unit, "units_per_step": units, "steps": args.steps,
        "repeats": args.repeats, "overrides": args.set,
        "loop_s_per_step": loop, "bare_s_per_step": bare,
        f"loop_{unit}_per_s": units / loop, f"bare_{unit}_per_s": units / bare,
        "loop_overhead_median": statistics.median(overhead),
        "loop_overhead_min": min(overhead), "loop_overhead_max": max(overhead),
    }  # fmt: skip
    print(
        f"{task_name:22} loop {units / loop:10.0f} {unit}/s | bare {units / bare:10.0f} {unit}/s"
        f" | overhead {100 * record['loop_overhead_median']:+5.1f}% (median of {args.repeats};"
        f" {100 * min(overhead):+.1f}% … {100 * max(overhead):+.1f}%)",
        flush=True,
    )
    if task_name == "cifar10_resnet20":
        minutes = 164 * CIFAR_STEPS_PER_EPOCH * loop / 60
        record["implied_164_epoch_minutes"] = minutes
        print(f"  → a 164-epoch ResNet-20 run would take ≈ {minutes:.1f} min of training here")
    return record


def machine(device: str) -> dict[str, Any]:
    name = torch.cuda.get_device_name(0) if device == "cuda" else platform.processor()
    return {"device": device, "name": name, "torch": torch.__version__,
            "threads": torch.get_num_threads(), "python": platform.python_version()}  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """``python -m scripts.bench_train``: time every task asked for, write the record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="digits,cifar10_lenet5,cifar10_resnet20")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=40, help="N: runs of N and 3N updates")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--set", action="append", default=[], help="a config override for every run, repeatable"
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    results = [bench(task_name, args) for task_name in args.tasks.split(",")]
    record = {
        "command": "python -m scripts.bench_train "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(args.device),
        "results": results,
    }
    out = args.out or Path("results/bench") / f"train-{args.device}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}")
    return record
