"""Training throughput per task and input pipeline, and the loop's overhead.

``python -m scripts.bench_train [--tasks digits,cifar10_resnet20,...] [--device cpu|cuda]
[--pipelines dataloader,device] [--steps N] [--precision fp32|bf16] [--channels-last]``

For each task (and, for CIFAR-10, each pipeline) it times training steps, alternating:
- the suite's loop (``experiments.train.train`` on a throw-away run directory: lr schedule,
  divergence check, logging, the final checkpoint and ``summary.json``), and
- a bare loop over the same batches: ``to(device)``, forward, loss, ``zero_grad``, backward,
  ``step``, nothing else;
and prints samples/s of both and the loop's overhead (target ≤ 5%). Each figure is a steady-state
slope (runs of N and 3N steps), the median over ``--repeats``. CIFAR-10 uses synthetic uint8
images of the real shape through the real pipelines (crop, flip, normalize), ImageNet synthetic
224×224 tensors (so JPEG decoding is not measured), digits its real bundled data. The figures and
the command go to ``results/bench/train-<device>.json``; for a 164-epoch CIFAR-10 ResNet-20 run
it also prints the implied duration.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import get_method, instantiate
from omegaconf import DictConfig, open_dict

from data.tensor_batches import TensorBatches
from experiments.config_checks import CONFIG_DIR
from experiments.distributed import SINGLE_PROCESS
from experiments.launch import PreparedRun
from experiments.run_store import RunDirectory
from experiments.signals import StopSignals
from experiments.tasks import cifar10
from experiments.tasks.base import Task, autocast
from experiments.train import seed_everything, train

CIFAR_STEPS_PER_EPOCH = 391  # 50,000 images in batches of 128


def compose_task(task: str, device: str, steps: int, extra: list[str]) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(
            "train",
            overrides=[f"task={task}", f"device={device}", f"max_steps={steps}", "log_every=1000",
                       "checkpoint_every=1000000", "deterministic=false", *extra],
        )  # fmt: skip


def synthetic_task(cfg: DictConfig, pipeline: str | None, steps: int, device: torch.device) -> Task:
    """The task's model and loss with training batches of the real shape (see module doc)."""
    generator = torch.Generator().manual_seed(0)
    samples = steps * cfg.task.batch_size
    if cfg.task.build == "experiments.tasks.cifar10.build":
        with open_dict(cfg):
            cfg.task.pipeline = pipeline
        images = torch.randint(0, 256, (samples, 3, 32, 32), dtype=torch.uint8, generator=generator)
        labels = torch.randint(0, 10, (samples,), generator=generator)
        source = cifar10.train_source(cfg.task, images, labels, seed=0, device=device)
    elif cfg.task.build == "experiments.tasks.imagenet.build":
        images = torch.randn(samples, 3, 224, 224, generator=generator)
        labels = torch.randint(0, 1000, (samples,), generator=generator)
        source = TensorBatches(images, labels, cfg.task.batch_size, shuffle=True)
    else:
        built = get_method(cfg.task.build)(cfg.task, seed=0, data_dir=cfg.data_dir, device=device)
        source = built.train
    return Task(
        model=instantiate(cfg.task.model),
        train=source,
        eval_splits={},
        loss_fn=torch.nn.CrossEntropyLoss(),
        epochs=-(-steps // len(source)),
        headline="train/loss",
        mode="min",
    )


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_loop(cfg: DictConfig, task: Task, device: torch.device, steps: int) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        with open_dict(cfg):
            cfg.runs_dir = scratch
        identity = {"task": cfg.task.name, "optimizer": "bench", "seed": 0, "sweep": "bench",
                    "overrides": {}, "name": "bench"}  # fmt: skip
        prepared = PreparedRun(RunDirectory(Path(scratch) / "run"), task, device, identity)
        prepared.run.path.mkdir()
        synchronize(device)
        started = time.perf_counter()
        with StopSignals() as stop:
            code = train(cfg, prepared, SINGLE_PROCESS, stop)
        synchronize(device)
        elapsed = time.perf_counter() - started
        steps_done = json.loads(prepared.run.summary_path.read_text())["steps"]
    if code != 0 or steps_done != steps:
        raise SystemExit(f"error: the loop did not finish {steps} steps (exit {code})")
    return elapsed


def time_bare(cfg: DictConfig, task: Task, device: torch.device, steps: int) -> float:
    precision = cfg.task.get("precision", "fp32")
    memory_format = torch.channels_last if cfg.task.get("channels_last") else torch.preserve_format
    model = task.model.to(device, memory_format=memory_format)
    optimizer = instantiate(cfg.optimizer)(model.parameters())
    synchronize(device)
    started = time.perf_counter()
    batches = (batch for epoch in range(task.epochs) for batch in task.train.batches(epoch))
    for index, (inputs, targets) in enumerate(batches):
        if index == steps:
            break
        inputs = inputs.to(device, non_blocking=True, memory_format=memory_format)
        targets = targets.to(device, non_blocking=True)
        with autocast(device, precision):
            loss = task.loss_fn(model(inputs).float(), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    synchronize(device)
    return time.perf_counter() - started


def per_step_seconds(timer, cfg: DictConfig, pipeline: str | None, steps: int, device) -> float:
    """Steady-state seconds per step: the slope between runs of ``steps`` and ``3 × steps``
    steps, so fixed costs (building the optimizer, meta.json, the final checkpoint, warm-up of
    the first steps) cancel out."""
    durations = []
    for count in (steps, 3 * steps):
        with open_dict(cfg):
            cfg.max_steps = count
        seed_everything(0, deterministic=False)
        durations.append(timer(cfg, synthetic_task(cfg, pipeline, count, device), device, count))
    return (durations[1] - durations[0]) / (2 * steps)


def bench(task_name: str, pipeline: str | None, args: argparse.Namespace) -> dict:
    cfg = compose_task(task_name, args.device, args.steps, [])
    with open_dict(cfg):
        cfg.task.precision = args.precision
        cfg.task.channels_last = args.channels_last
    device = torch.device(args.device)
    loop_times, bare_times = [], []
    for _ in range(args.repeats):
        bare_times.append(per_step_seconds(time_bare, cfg, pipeline, args.steps, device))
        loop_times.append(per_step_seconds(time_loop, cfg, pipeline, args.steps, device))
    batch = cfg.task.batch_size
    loop, bare = statistics.median(loop_times), statistics.median(bare_times)
    record = {
        "task": task_name, "pipeline": pipeline, "batch_size": batch, "steps": args.steps,
        "repeats": args.repeats, "loop_s_per_step": loop, "bare_s_per_step": bare,
        "loop_samples_per_s": batch / loop, "bare_samples_per_s": batch / bare,
        "loop_overhead": loop / bare - 1,
    }  # fmt: skip
    overhead = 100 * record["loop_overhead"]
    print(
        f"{task_name:22} {pipeline or '-':10} loop {batch / loop:9.0f} samples/s | "
        f"bare {batch / bare:9.0f} samples/s | overhead {overhead:+5.1f}%",
        flush=True,
    )
    if task_name == "cifar10_resnet20":
        minutes = 164 * CIFAR_STEPS_PER_EPOCH * loop / 60
        record["implied_164_epoch_minutes"] = minutes
        print(f"  → a 164-epoch ResNet-20 run would take ≈ {minutes:.1f} min of training here")
    return record


def machine(device: str) -> dict:
    name = torch.cuda.get_device_name(0) if device == "cuda" else platform.processor()
    return {"device": device, "name": name, "torch": torch.__version__,
            "threads": torch.get_num_threads(), "python": platform.python_version()}  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="digits,cifar10_lenet5,cifar10_resnet20")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--pipelines", default="dataloader,device")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    results = []
    for task_name in args.tasks.split(","):
        pipelines = args.pipelines.split(",") if task_name.startswith("cifar10") else [None]
        results.extend(bench(task_name, pipeline, args) for pipeline in pipelines)
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


if __name__ == "__main__":
    main()
