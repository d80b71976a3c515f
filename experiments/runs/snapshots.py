"""Parameter snapshots for checkpoint averaging (``task.average``; fairseq's
``--keep-last-epochs`` followed by ``scripts/average_checkpoints.py``).

A snapshot is the model's ``state_dict`` after an epoch (or every N updates), written atomically
to ``<run_dir>/snapshots/update-<000000123>.pt``; only the last ``keep`` stay. ``average`` sums
the snapshots in float64 and divides by their number, then casts each tensor back to its dtype
(integer buffers, such as BatchNorm's ``num_batches_tracked``, are averaged with integer
division, as fairseq does). ``remove_snapshots`` deletes them once a run with
``keep_checkpoint=none`` is over.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from experiments.runs.store import write_atomic

FOLDER = "snapshots"


def snapshot_paths(run_dir: Path) -> list[Path]:
    """The snapshots of a run, oldest first."""
    return sorted((Path(run_dir) / FOLDER).glob("update-*.pt"))


def save_snapshot(run_dir: Path, update: int, state: dict[str, Tensor], keep: int) -> Path:
    folder = Path(run_dir) / FOLDER
    folder.mkdir(exist_ok=True)
    buffer = io.BytesIO()
    torch.save({name: tensor.detach().cpu() for name, tensor in state.items()}, buffer)
    path = folder / f"update-{update:09d}.pt"
    write_atomic(path, buffer.getvalue())
    for old in snapshot_paths(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def remove_snapshots(run_dir: Path) -> None:
    """Delete the run's snapshot folder (the snapshots and any half-written one), if any."""
    folder = Path(run_dir) / FOLDER
    if folder.is_dir():
        shutil.rmtree(folder)


def average(paths: Sequence[Path]) -> dict[str, Tensor]:
    """The element-wise mean of the snapshots' tensors (float64 sums, cast back)."""
    if not paths:
        raise ValueError("no snapshots to average")
    sums: dict[str, Tensor] = {}
    dtypes: dict[str, torch.dtype] = {}
    for path in paths:
        state = torch.load(path, map_location="cpu", weights_only=True)
        for name, tensor in state.items():
            dtypes.setdefault(name, tensor.dtype)
            value = tensor.to(torch.float64) if tensor.is_floating_point() else tensor.long()
            sums[name] = sums[name] + value if name in sums else value.clone()
    count = len(paths)
    averaged = {}
    for name, total in sums.items():
        if total.is_floating_point():
            averaged[name] = (total / count).to(dtypes[name])
        else:
            averaged[name] = torch.div(total, count, rounding_mode="floor").to(dtypes[name])
    return averaged
