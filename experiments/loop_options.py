"""What the loop applies besides the task: the recipe keys (``experiments.tasks.contract``:
training and evaluation precision, compile, gradient clipping and gradient accumulation, read
from ``cfg.task`` and checked before anything is written) and the run's every-N settings
(``log_every``, ``eval_every``, ``checkpoint_every``, read from the run-level keys, which
``check_run_keys`` checks)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from omegaconf import DictConfig

from experiments.config_checks import ConfigError, positive_int

PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class LoopOptions:
    precision: str = "fp32"
    """Training's forward passes: fp32, or bf16 autocast (the GPU stand-in for ``--fp16``)."""
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
    eval_precision: str = "fp32"
    """Evaluations (beam search included): fp32 unless a recipe asks for bf16, whatever the
    training precision; the RAdam repository's ``eval.sh`` decodes in fp32, and the arms it
    compares must decode alike (bf16 logits can flip a 0.1 BLEU gap)."""

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
        precision = _precision(task, "precision")
        eval_precision = _precision(task, "eval_precision")
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
        clip = None if clip is None else float(clip)
        return cls(precision, compiled, clip, update_freq, eval_precision=eval_precision)

    def autocast(self, device: torch.device) -> torch.autocast:
        """bf16 autocast for training when ``precision`` is bf16; a disabled context otherwise."""
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16")

    def eval_autocast(self, device: torch.device) -> torch.autocast:
        """bf16 autocast for evaluations when ``eval_precision`` is bf16; disabled otherwise."""
        enabled = self.eval_precision == "bf16"
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


def _precision(task: DictConfig, key: str) -> str:
    value = task.get(key, "fp32")
    if value not in PRECISIONS:
        raise ConfigError(f"task.{key}={value!r} is invalid: one of {', '.join(PRECISIONS)}")
    return value
