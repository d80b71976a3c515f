"""Atomic checkpoints that ``torch.load(weights_only=True)`` accepts.

A checkpoint holds the model, optimizer, schedule (and plateau) state, the loop's state
(``experiments.loop_state``: update, epoch, position in the epoch, the open log window's sums,
best metrics, cumulative times), the task's own state (a carried hidden state), the metrics
file's length at that moment, and every RNG state (python, numpy, torch CPU and CUDA) as tensors
and lists, so a resumed run continues exactly.

This module owns the payload's keys: ``payload`` writes them, ``load`` checks them, ``restore``
puts a run back from them, and ``metrics_offset`` / ``stored_config`` read the two that the
run directory checks before a resume.
"""

from __future__ import annotations

import io
import os
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from experiments.loop_state import LoopState
from experiments.runs import faults
from experiments.runs.store import CorruptRun, write_atomic
from experiments.tasks.contract import Task
from optimizers.schedules import LRSchedule

REQUIRED = ("step", "model", "optimizer", "schedule", "task", "rng", "loop", "metrics_offset")
DATA = "data"
"""The task's data hashes (``Task.checksums``) the run trained on: a resume on other data is
refused. Checkpoints written before it existed resume without a data check."""
"""The keys every checkpoint has (``config``, the scientific config, is checked when present)."""


def rng_state() -> dict[str, Any]:
    version, internal, gauss = random.getstate()
    name, keys, position, has_gauss, cached = np.random.get_state()
    return {
        "python": [version, list(internal), gauss],
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def payload(
    *,
    state: LoopState,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule: LRSchedule,
    task: Task,
    config: dict[str, Any],
    metrics_offset: int,
) -> dict[str, Any]:
    """What ``checkpoint.pt`` holds after ``state.update`` updates (and the RNG states now)."""
    return {
        "step": state.update,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "schedule": schedule.state_dict(),
        "task": task.state_dict(),
        "rng": rng_state(),
        "loop": state.state_dict(),
        "config": config,
        "metrics_offset": metrics_offset,
        DATA: {str(key): str(value) for key, value in task.checksums.items()},
    }


def data_difference(saved: dict[str, Any] | None, data: Mapping[str, str]) -> str | None:
    """What differs between the data hashes a checkpoint recorded and the task's now (one
    line), or None; None also for a checkpoint written before data hashes were recorded."""
    recorded = (saved or {}).get(DATA)
    if recorded is None:
        return None
    for key in sorted(set(recorded) | set(data)):
        was, now = recorded.get(key), data.get(key)
        if was != now:
            return f"{key}: {_short(was)} then, {_short(now)} now"
    return None


def _short(value: str | None) -> str:
    return "absent" if value is None else value[:16]


def restore(
    saved: dict[str, Any] | None,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule: LRSchedule,
    task: Task,
) -> LoopState:
    """Put the model, optimizer, schedule, task and RNGs back as ``saved`` holds them, and
    return the loop's state; a fresh ``LoopState`` when there is no checkpoint."""
    if saved is None:
        return LoopState()
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    schedule.load_state_dict(saved["schedule"])
    task.load_state_dict(saved["task"])
    set_rng_state(saved["rng"])
    loop = dict(saved["loop"])
    kept = saved["task"].get("windows")  # written before the loop kept them: the translation task
    if kept is not None and "since_evaluation" not in loop:
        loop["since_evaluation"] = {"nll": kept["nll"], "@windows": kept["count"]}
    return LoopState.from_state_dict(loop)


def metrics_offset(saved: dict[str, Any] | None) -> int:
    """The length of ``metrics.jsonl`` when ``saved`` was written (0 without a checkpoint)."""
    return 0 if saved is None else int(saved["metrics_offset"])


def stored_config(saved: dict[str, Any] | None) -> dict[str, Any] | None:
    """The scientific config ``saved`` was trained with, or None."""
    return None if saved is None else saved.get("config")


def save(path: Path, content: dict[str, Any]) -> None:
    """Serialize ``content`` (a ``payload``) in memory, then write atomically (temporary file,
    fsync, rename)."""
    buffer = io.BytesIO()
    torch.save(content, buffer)
    data = buffer.getvalue()
    if faults.kill_during_checkpoint(content["step"]):
        with open(path.with_name(f".{path.name}.tmp"), "wb") as handle:
            handle.write(data[: len(data) // 2])
            handle.flush()
            os.fsync(handle.fileno())
        faults.kill_now()
    write_atomic(path, data)


def load(path: Path) -> dict[str, Any] | None:
    """The last complete checkpoint (on the CPU; ``load_state_dict`` moves it), or None when
    there is none; ``CorruptRun`` when the file is truncated, garbage or not a checkpoint."""
    if not path.exists():
        return None
    if not path.is_file():
        raise CorruptRun(path, "is not a file")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - a damaged file fails in many ways
        reason = str(error).strip().splitlines()[0][:120] if str(error).strip() else ""
        raise CorruptRun(path, f"is unreadable ({type(error).__name__}: {reason})") from None
    missing = [key for key in REQUIRED if not isinstance(saved, dict) or key not in saved]
    if missing:
        raise CorruptRun(path, f"is not a checkpoint of this suite (no {', '.join(missing)})")
    return saved
