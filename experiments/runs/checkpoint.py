"""Atomic checkpoints that ``torch.load(weights_only=True)`` accepts.

A checkpoint holds the model, optimizer, schedule (and plateau) state, the loop's state
(``experiments.loop_state``: update, epoch, position in the epoch, the open log window's sums,
best metrics, cumulative times), the task's own state (a carried hidden state), the metrics
file's length at that moment, and every RNG state (python, numpy, torch CPU and CUDA) as tensors
and lists, so a resumed run continues exactly.
"""

from __future__ import annotations

import io
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from experiments.runs import faults
from experiments.runs.store import CorruptRun, write_atomic


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


def save(path: Path, payload: dict[str, Any]) -> None:
    """Serialize in memory, then write atomically (temporary file, fsync, rename)."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getvalue()
    if faults.kill_during_checkpoint(payload["step"]):
        with open(path.with_name(f".{path.name}.tmp"), "wb") as handle:
            handle.write(data[: len(data) // 2])
            handle.flush()
            os.fsync(handle.fileno())
        faults.kill_now()
    write_atomic(path, data)


REQUIRED = ("step", "model", "optimizer", "schedule", "task", "rng", "loop", "metrics_offset")


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
