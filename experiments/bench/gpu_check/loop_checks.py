"""The real loop on the device: no synchronisation between log points, and bf16 runs that finish.

``no_sync_between_log_points`` trains ResNet-20 (synthetic CIFAR-10, the device pipeline on
CUDA, evaluation at each epoch end) under ``torch.cuda.set_sync_debug_mode("warn")``, which
warns at every operation that makes the host wait for the GPU (a device-to-host copy, ``.item()``,
a blocking host-to-device copy, a stream or event wait). Each warning is recorded with the
Python stack it came from and the number of updates done, and attributed as
``tests/experiments/test_host_reads.py`` attributes host reads on the CPU: it is allowed only
inside the loop's log-point, evaluation and checkpoint functions (``ALLOWED``); any other is a
synchronisation between log points, reported by file and line. On the CPU the mode does nothing:
the same run goes through the same code and the record says the check is CUDA-only.

``bf16_runs_finish`` runs the loop with ``task.precision=bf16``, with ``channels_last`` off and
on, and compares the logged losses with the fp32 run's: finite, within 5 % of fp32, and not
equal to it (autocast really ran).
"""

from __future__ import annotations

import traceback
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from experiments.bench.gpu_check.loop_runs import LoopRun, recipe_config, run_loop
from experiments.bench.gpu_check.plan import Sizes
from experiments.bench.gpu_check.record import failed
from experiments.runs.prepare import PreparedRun

PROJECT = Path(__file__).resolve().parents[3]
PACKAGES = ("experiments", "data", "optimizers", "scripts")
SYNC_MESSAGE = "called a synchronizing CUDA operation"
ALLOWED = {
    ("experiments/loop_meters.py", "read"): "TrainMeter.read: the log point",
    ("experiments/loop_meters.py", "diverged_at"): "TrainMeter.diverged_at: before a pause",
    ("experiments/loop_meters.py", "state"): "TrainMeter.state: the checkpointed window",
    ("experiments/loop_meters.py", "collect"): "StepTimer.collect: at a log point",
    ("experiments/loop_evaluation.py", "evaluate"): "the evaluation",
    ("experiments/loop.py", "save_checkpoint"): "the checkpoint",
}


def project_file(filename: str) -> str | None:
    """``filename`` relative to the project when it is one of the suite's packages (not the GPU
    check itself, not an installed package inside the checkout's .venv)."""
    path = Path(filename).resolve()
    if not path.is_relative_to(PROJECT):
        return None
    relative = path.relative_to(PROJECT)
    if relative.parts[0] not in PACKAGES or relative.parts[:3] == (
        "experiments",
        "bench",
        "gpu_check",
    ):
        return None
    return str(relative)


class SyncRecorder:
    """Every sync-debug warning with the update count and the project frames of its stack."""

    def __init__(self) -> None:
        self.updates = 0
        self.syncs: list[tuple[int, str | None, str]] = []

    def count_update(self, *_: object) -> None:
        self.updates += 1

    def show(self, message, category, filename, lineno, file=None, line=None) -> None:
        if SYNC_MESSAGE not in str(message):
            return
        frames = [(project_file(frame.filename), frame) for frame in traceback.extract_stack()]
        frames = [(name, frame) for name, frame in frames if name is not None]
        allowed = next((ALLOWED[(f, fr.name)] for f, fr in frames if (f, fr.name) in ALLOWED), None)
        where = f"{frames[-1][0]}:{frames[-1][1].lineno} {frames[-1][1].name}" if frames else "?"
        self.syncs.append((self.updates, allowed, where))

    @contextmanager
    def around(self, prepared: PreparedRun) -> Iterator[None]:
        handle = prepared.optimizer.register_step_post_hook(self.count_update)
        cuda = prepared.device.type == "cuda"
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = self.show
            if cuda:
                torch.cuda.set_sync_debug_mode("warn")
            try:
                yield
            finally:
                if cuda:
                    torch.cuda.set_sync_debug_mode("default")
                handle.remove()


def no_sync_between_log_points(sizes: Sizes, device: torch.device) -> tuple[dict, LoopRun]:
    """The check's details, and the run (its losses are bf16_runs_finish's fp32 reference)."""
    cfg = recipe_config(
        sizes, device, f"max_steps={sizes.loop_steps}", f"log_every={sizes.loop_log_every}"
    )
    recorder = SyncRecorder()
    run = run_loop(cfg, device, evaluation=True, around=recorder.around)
    if not run.finished():
        raise AssertionError(f"the loop ended {run.summary['status']} (exit {run.code})")
    outside = Counter(where for _, allowed, where in recorder.syncs if allowed is None)
    at_updates = sorted({update for update, allowed, _ in recorder.syncs if allowed is None})
    details = {
        "device": str(device),
        "updates": recorder.updates,
        "log_every": sizes.loop_log_every,
        "pipeline": "device" if device.type == "cuda" else "dataloader",
        "syncs_total": len(recorder.syncs),
        "syncs_allowed": dict(Counter(allowed for _, allowed, _ in recorder.syncs if allowed)),
        "syncs_between_log_points": dict(outside),
        "between_log_points_after_updates": at_updates[:20],
    }
    if device.type != "cuda":
        details.update(
            status="skipped",
            why="CUDA-only: the sync debug mode does nothing on the "
            "CPU (the same run went through the same code)",
        )
    elif outside:
        top = "; ".join(f"{where} ×{count}" for where, count in outside.most_common(3))
        details.update(status="fail", why=f"synchronisations between log points: {top}")
    elif not recorder.syncs:
        details.update(
            status="fail",
            why="no synchronisation recorded at all: the debug mode "
            "did not report (the log points do synchronise)",
        )
    return details, run


def bf16_runs_finish(sizes: Sizes, device: torch.device, fp32: LoopRun) -> dict:
    steps = min(sizes.loop_steps, 6 * sizes.loop_log_every)
    reference = fp32.losses()[: steps // sizes.loop_log_every]
    results, problems = {}, []
    for channels_last in (False, True):
        cfg = recipe_config(
            sizes,
            device,
            "task.precision=bf16",
            f"task.channels_last={str(channels_last).lower()}",
            f"max_steps={steps}",
            f"log_every={sizes.loop_log_every}",
        )
        run = run_loop(cfg, device, evaluation=False)
        name = "bf16" + (" + channels_last" if channels_last else "")
        losses = run.losses()[: len(reference)]
        worst = max(abs(a - b) / abs(b) for a, b in zip(losses, reference, strict=True))
        results[name] = {
            "status": run.summary["status"],
            "losses": losses,
            "worst_rel_to_fp32": worst,
        }
        if not run.finished():
            problems.append(f"{name}: {run.summary['status']}")
        elif not all(torch.isfinite(torch.tensor(losses))):
            problems.append(f"{name}: non-finite loss")
        elif worst > 0.05:
            problems.append(f"{name}: {100 * worst:.1f}% from fp32")
        elif losses == reference:
            problems.append(f"{name}: equals fp32 exactly (autocast did not run)")
    details = {"device": str(device), "steps": steps, "fp32_losses": reference, "runs": results}
    return failed(details, problems)
