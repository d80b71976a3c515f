"""No host-device synchronisation per step: between two
log points the loop never reads a tensor on the host. On CUDA every such read (``.item()``,
``.tolist()``, ``bool(tensor)``, ``float(tensor)``, ``.numpy()``) waits for the GPU; on the CPU
it costs nothing, but it is the same call, so counting the calls on the CPU shows what would
synchronise on a GPU (the GPU check asserts it with ``torch.cuda.set_sync_debug_mode``).

The real loop trains ``digits`` in this process, with gradient clipping on, under a
``TorchFunctionMode`` that records every host read and the loop function it happened in. Reads
are allowed only at log points, evaluations and checkpoints (here every evaluation and
checkpoint falls on a log point).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path

import torch
from omegaconf import DictConfig
from torch.overrides import TorchFunctionMode

from experiments.distributed import SINGLE_PROCESS
from experiments.loop import train
from experiments.runs.prepare import prepare
from experiments.runs.signals import StopSignals
from experiments.torch_startup import seed_everything
from tests.experiments.cli import REPO_ROOT

ENGINE = str(REPO_ROOT / "experiments") + "/"
HOST_READS = {"item", "tolist", "__bool__", "__float__", "__int__", "__index__", "numpy"}
ALLOWED = {
    "read": "TrainMeter.read: the log point",
    "diverged_at": "TrainMeter.diverged_at: before an evaluation or a checkpoint",
    "state": "TrainMeter.state: the window saved in a checkpoint",
    "evaluate": "the evaluation",
    "save_checkpoint": "the checkpoint",
}
OVERRIDES = [
    "device=cpu", "max_steps=40", "log_every=5", "eval_every=20", "checkpoint_every=20",
    "+task.clip_grad_norm=1.0",
]  # fmt: skip


class HostReads(TorchFunctionMode):
    """Records (function, loop frame) for every host read inside ``experiments/``."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[tuple[str, str | None]] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in HOST_READS:
            frames = [f for f in traceback.extract_stack() if f.filename.startswith(ENGINE)]
            allowed = next((f.name for f in reversed(frames) if f.name in ALLOWED), None)
            where = frames[-1] if frames else None
            self.reads.append((name, allowed or f"{where.filename}:{where.lineno}"))
        return func(*args, **(kwargs or {}))


def test_the_loop_reads_the_device_only_at_log_points(
    tmp_path: Path, compose: Callable[..., DictConfig]
) -> None:
    cfg = compose(f"runs_dir={tmp_path}", *OVERRIDES)
    seed_everything(cfg.seed, cfg.deterministic)
    prepared = prepare(cfg, OVERRIDES, {"task": "digits", "optimizer": "adam"}, SINGLE_PROCESS,
                       torch.device("cpu"))  # fmt: skip
    assert not isinstance(prepared, int)
    mode = HostReads()
    try:
        with StopSignals() as stop, mode:
            code = train(cfg, prepared, SINGLE_PROCESS, stop)
    finally:
        prepared.run.release()
    assert code == 0
    outside = [read for read in mode.reads if read[1] not in ALLOWED]
    assert outside == [], f"host reads between log points: {outside}"
    at_log_points = [read for read in mode.reads if read[1] == "read"]
    assert len(at_log_points) >= 40 // 5, "the window is read once per log point (and counted)"
