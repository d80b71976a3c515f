"""The recipe keys the loop applies (``experiments.tasks.contract``): precision, compile,
gradient clipping and gradient accumulation, read from ``cfg.task`` and checked before anything
is written."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from omegaconf import DictConfig

from experiments.config_checks import ConfigError

PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class LoopOptions:
    precision: str = "fp32"
    compile: bool = False
    clip_grad_norm: float | None = None
    """Clip the global gradient norm to this value before each update (null: no clipping)."""
    update_freq: int = 1
    """Micro-batches accumulated per optimizer update (fairseq's ``--update-freq``)."""

    @classmethod
    def from_task_config(cls, task: DictConfig) -> LoopOptions:
        precision = task.get("precision", "fp32")
        if precision not in PRECISIONS:
            raise ConfigError(
                f"task.precision={precision!r} is invalid: one of {', '.join(PRECISIONS)}"
            )
        compiled = task.get("compile", False)
        if not isinstance(compiled, bool):
            raise ConfigError(f"task.compile={compiled!r} is invalid: true or false")
        clip = task.get("clip_grad_norm")
        if clip is not None and (
            isinstance(clip, bool) or not isinstance(clip, int | float) or not clip > 0
        ):
            raise ConfigError(
                f"task.clip_grad_norm={clip!r} is invalid: null (no clipping) or a number > 0"
            )
        update_freq = task.get("update_freq", 1)
        if isinstance(update_freq, bool) or not isinstance(update_freq, int) or update_freq < 1:
            raise ConfigError(f"task.update_freq={update_freq!r} is invalid: an integer >= 1")
        return cls(precision, compiled, None if clip is None else float(clip), update_freq)

    def autocast(self, device: torch.device) -> torch.autocast:
        """bf16 autocast when ``precision`` is bf16; a disabled context otherwise."""
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16")
