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
import signal
from pathlib import Path
from typing import Any

import numpy as np
import torch

from experiments.runs.store import write_atomic

FAULT_ENV = "OPTREPRO_FAULT"
"""Fault injection for the resume tests, read from the environment: ``kill-after-step:<step>``
SIGKILLs the process once that step is done (logged, evaluated, maybe checkpointed);
``kill-during-checkpoint:<step>`` SIGKILLs it after half of that step's checkpoint file is on
disk. Both are real kills of a real process at a chosen point."""


def inject_kill_after_step(step: int) -> None:
    if os.environ.get(FAULT_ENV) == f"kill-after-step:{step}":
        os.kill(os.getpid(), signal.SIGKILL)


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
    if os.environ.get(FAULT_ENV) == f"kill-during-checkpoint:{payload['step']}":
        with open(path.with_name(f".{path.name}.tmp"), "wb") as handle:
            handle.write(data[: len(data) // 2])
            handle.flush()
            os.fsync(handle.fileno())
        os.kill(os.getpid(), signal.SIGKILL)
    write_atomic(path, data)


def load(path: Path) -> dict[str, Any] | None:
    """The last complete checkpoint (on the CPU; ``load_state_dict`` moves it), or None."""
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=True)
