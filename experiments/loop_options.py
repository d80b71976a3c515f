"""What the loop applies besides the task: the recipe keys (``experiments.tasks.contract``:
precision, compile, gradient clipping and gradient accumulation, read from ``cfg.task`` and checked
before anything is written) and the run's every-N settings (``log_every``, ``eval_every``,
``checkpoint_every``, read from the run-level keys, which ``check_run_keys`` checks)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from omegaconf import DictConfig

from experiments.config_checks import ConfigError, positive_int

PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class LoopOptions:
    precision: str = "fp32"
    compile: bool = False
    clip_grad_norm: float | None = None
    """Clip the global gradient norm to this value before each update (null: no clipping)."""
    update_freq: int = 1
    """Micro-batches accumulated per optimizer update (fairseq's ``--update-freq``)."""
    log_every: int = 10
    """Updates between log points (``train/…`` events and progress lines)."""
    eval_every: int | None = None
    """Updates between evaluations (None: at each epoch end)."""
    checkpoint_every: int = 200
    """Updates between checkpoints (one is also written at the end and when stopping)."""

    @classmethod
    def from_config(cls, cfg: DictConfig) -> LoopOptions:
        """The options of a composed config: ``cfg.task``'s recipe keys and the run's every-N
        settings (the one place the loop reads them from)."""
        recipe = cls.from_task_config(cfg.task)
        eval_every = cfg.eval_every
        return replace(
            recipe,
            log_every=int(cfg.log_every),
            eval_every=None if eval_every is None else int(eval_every),
            checkpoint_every=int(cfg.checkpoint_every),
        )

    @classmethod
    def from_task_config(cls, task: DictConfig) -> LoopOptions:
        """The recipe keys alone, checked (the every-N settings keep their defaults: a run's
        loop takes ``from_config``)."""
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
        positive_int("task.update_freq", update_freq)
        return cls(precision, compiled, None if clip is None else float(clip), update_freq)

    def autocast(self, device: torch.device) -> torch.autocast:
        """bf16 autocast when ``precision`` is bf16; a disabled context otherwise."""
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16")
