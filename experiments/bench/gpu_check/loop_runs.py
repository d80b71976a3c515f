"""The real training loop in process, its sync check and bf16 runs (docs/gpu_check.md)."""

import copy
import functools
import json
import math
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from data.cifar10.augment import NORMALIZATIONS
from data.cifar10.loader_pipeline import CifarEvalBatches
from experiments.assembly import build_run
from experiments.bench.gpu_check.device_checks import random_cifar
from experiments.bench.gpu_check.plan import Sizes
from experiments.bench.gpu_check.record import Outcome, failed
from experiments.bench.train_throughput import WithoutEvaluation, compose_task
from experiments.distributed import SINGLE_PROCESS, World
from experiments.loop import train
from experiments.runs.prepare import scratch_run
from experiments.runs.signals import StopSignals
from experiments.tasks.cifar10 import train_source
from experiments.tasks.classification import ClassificationTask, ready
from experiments.torch_startup import seed_everything

RECIPE = "cifar10_resnet20"
PROJECT = Path(__file__).resolve().parents[3]
PACKAGES = ("experiments", "data", "optimizers", "scripts")
SYNC_MESSAGE = "called a synchronizing CUDA operation"
ALLOWED = {  # where tests/experiments/test_host_reads.py allows host reads
    ("experiments/loop_meters.py", "read"): "TrainMeter.read: the log point",
    ("experiments/loop_meters.py", "diverged_at"): "TrainMeter.diverged_at: before a pause",
    ("experiments/loop_meters.py", "state"): "TrainMeter.state: the checkpointed window",
    ("experiments/loop_meters.py", "collect"): "StepTimer.collect: at a log point",
    ("experiments/loop_evaluation.py", "evaluate"): "the evaluation",
    ("experiments/loop.py", "save_checkpoint"): "the checkpoint",
}


def synthetic(cfg: DictConfig, *, seed: int, data_dir: str, device: torch.device, world: World):
    """CIFAR-10 on ``cfg.synthetic_images`` random images (the real builder draws 50,000)."""
    images, labels = random_cifar(int(cfg.synthetic_images), seed)
    train = train_source(cfg, images, labels, seed=seed, device=device)
    test = CifarEvalBatches(images, labels, cfg.eval_batch_size, NORMALIZATIONS[cfg.normalization])
    return ready(ClassificationTask(
        model=instantiate(cfg.model), train=train, eval_sources={"test": test}, epochs=cfg.epochs,
        headline=cfg.headline, channels_last=bool(cfg.get("channels_last", False)),
    ), device, world)  # fmt: skip


def base_overrides(sizes: Sizes) -> list[str]:
    """Hydra's own launcher (the default is a plugin the GPU machine lacks), the mode's batch."""
    tiny = ["task.build=experiments.bench.gpu_check.loop_runs.synthetic",
            f"+task.synthetic_images={sizes.synthetic_images}"]  # fmt: skip
    return ["launcher=inline", f"task.batch_size={sizes.batch_size}", *tiny * sizes.tiny]


@functools.lru_cache(maxsize=4)
def _base_config(sizes: Sizes, device_type: str) -> DictConfig:
    return compose_task(RECIPE, device_type, base_overrides(sizes))


def recipe_config(sizes: Sizes, device: torch.device, *overrides: str) -> DictConfig:
    cfg = copy.deepcopy(_base_config(sizes, device.type))
    for override in overrides:
        key, _, value = override.partition("=")
        OmegaConf.update(cfg, key, yaml.safe_load(value), merge=False)
    return cfg


@dataclass
class LoopRun:
    code: int
    summary: dict[str, Any]
    events: list[dict[str, Any]]
    log_every: int
    wall_s: float

    def finished(self) -> bool:
        return self.code == 0 and self.summary["status"] == "finished"

    def logged(self, key: str) -> list[float]:  # "time" is stamped after the device was read
        return [event[key] for event in self.events if "train/loss" in event]

    def steady_s_per_update(self, warmup_windows: int) -> float:
        times = self.logged("time")[warmup_windows:]
        return (times[-1] - times[0]) / ((len(times) - 1) * self.log_every)


def run_loop(cfg: DictConfig, device: torch.device, *, evaluation: bool = True,
             finish: bool = True, around: Callable | None = None) -> LoopRun:  # fmt: skip
    """One run (``Outcome`` fail unless it finished, with ``finish``), ``around(prepared)`` it."""
    seed_everything(cfg.seed, cfg.deterministic)
    wrap = None if evaluation else WithoutEvaluation
    built = build_run(cfg, SINGLE_PROCESS, device, synthetic=True, wrap_task=wrap)
    started = time.perf_counter()
    with scratch_run(cfg, built, device, "gpu-check") as prepared:
        with StopSignals() as stop, (around or (lambda _: nullcontext()))(prepared):
            code = train(cfg, prepared, SINGLE_PROCESS, stop)
        summary = json.loads(prepared.run.summary_path.read_text())
        events = [json.loads(line) for line in prepared.run.metrics_path.read_text().splitlines()]
    run = LoopRun(code, summary, events, int(cfg.log_every), time.perf_counter() - started)
    if finish and not run.finished():
        raise Outcome("fail", f"{cfg.task.name}: the loop ended {summary['status']} (exit {code})")
    return run


def project_file(filename: str) -> str | None:
    path = Path(filename).resolve()
    parts = path.relative_to(PROJECT).parts if path.is_relative_to(PROJECT) else ("",)
    mine = parts[:3] == ("experiments", "bench", "gpu_check")
    return None if parts[0] not in PACKAGES or mine else "/".join(parts)


class SyncRecorder:
    """Every sync-debug warning with the update count and the project frames of its stack."""

    def __init__(self) -> None:
        self.updates, self.syncs = 0, []

    def show(self, message, category, filename, lineno, file=None, line=None) -> None:
        if SYNC_MESSAGE not in str(message):
            return
        frames = [(project_file(frame.filename), frame) for frame in traceback.extract_stack()]
        frames = [(name, frame) for name, frame in frames if name is not None]
        allowed = next((ALLOWED[(f, fr.name)] for f, fr in frames if (f, fr.name) in ALLOWED), None)
        where = f"{frames[-1][0]}:{frames[-1][1].lineno} {frames[-1][1].name}" if frames else "?"
        self.syncs.append((self.updates, allowed, where))

    @contextmanager
    def watching(self, device: torch.device, optimizer=None) -> Iterator[None]:
        count = lambda *_: setattr(self, "updates", self.updates + 1)  # noqa: E731
        handle = optimizer.register_step_post_hook(count) if optimizer else None
        cuda = device.type == "cuda"
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = self.show
            torch.cuda.set_sync_debug_mode("warn") if cuda else None
            try:
                yield
            finally:
                torch.cuda.set_sync_debug_mode("default") if cuda else None
                handle.remove() if handle else None


def no_sync_between_log_points(sizes: Sizes, device: torch.device) -> tuple[dict, LoopRun]:
    """The check's details, and the run (its losses are bf16_runs_finish's fp32 reference)."""
    recorder, steps = SyncRecorder(), f"max_steps={sizes.loop_steps}"
    cfg = recipe_config(sizes, device, steps, f"log_every={sizes.loop_log_every}")
    run = run_loop(cfg, device, around=lambda run: recorder.watching(device, run.optimizer))
    outside = Counter(where for _, allowed, where in recorder.syncs if allowed is None)
    at_updates = sorted({update for update, allowed, _ in recorder.syncs if allowed is None})
    details = {
        "device": str(device), "updates": recorder.updates, "log_every": sizes.loop_log_every,
        "pipeline": "device" if device.type == "cuda" else "dataloader",
        "syncs_total": len(recorder.syncs),
        "syncs_allowed": dict(Counter(allowed for _, allowed, _ in recorder.syncs if allowed)),
        "syncs_between_log_points": dict(outside),
        "between_log_points_after_updates": at_updates[:20],
    }  # fmt: skip
    if device.type != "cuda":
        why = "CUDA-only: the sync debug mode does nothing on the CPU (the same run went through)"
        details.update(status="skipped", why=why)
    elif outside:
        top = "; ".join(f"{where} ×{count}" for where, count in outside.most_common(3))
        details.update(status="fail", why=f"synchronisations between log points: {top}")
    elif not recorder.syncs:
        details.update(status="fail", why="no synchronisation at all: the debug mode is silent")
    return details, run


def bf16_runs_finish(sizes: Sizes, device: torch.device, fp32: LoopRun) -> dict:
    steps = min(sizes.loop_steps, 6 * sizes.loop_log_every)
    reference = fp32.logged("train/loss")[: steps // sizes.loop_log_every]
    results, problems = {}, []
    for channels_last in ("false", "true"):
        overrides = ("task.precision=bf16", f"task.channels_last={channels_last}",
                     f"max_steps={steps}", f"log_every={sizes.loop_log_every}")  # fmt: skip
        cfg = recipe_config(sizes, device, *overrides)
        run = run_loop(cfg, device, evaluation=False, finish=False)
        name = "bf16" + (" + channels_last" if channels_last == "true" else "")
        losses = run.logged("train/loss")[: len(reference)]
        worst = max(abs(a - b) / abs(b) for a, b in zip(losses, reference, strict=True))
        results[name] = {"status": run.summary["status"], "losses": losses,
                         "worst_rel_to_fp32": worst}  # fmt: skip
        problems += [
            not run.finished() and f"{name}: {run.summary['status']}",
            not all(map(math.isfinite, losses)) and f"{name}: non-finite loss",
            worst > 0.05 and f"{name}: {100 * worst:.1f}% from fp32",
            losses == reference and f"{name}: equals fp32 exactly (autocast did not run)",
        ]  # fmt: skip
    details = {"device": str(device), "steps": steps, "fp32_losses": reference, "runs": results}
    return failed(details, problems)
