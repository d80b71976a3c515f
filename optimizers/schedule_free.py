"""Schedule-Free AdamW (Defazio et al. 2024, "The Road Less Scheduled", NeurIPS 2024), the
``schedulefree`` package's ``AdamWScheduleFree``, adapted to the loop.

The method keeps two sequences: gradients are taken at y (the parameters while training), and
x, an average of the z iterates, is what should be evaluated; ``optimizer.eval()`` moves the
parameters to x and ``optimizer.train()`` back to y (schedulefree README, "How to use"). The
loop's hook for optimizers that evaluate other parameters is ``averaged_parameters()`` (NT-ASGD
uses it too): evaluations and checkpoint-averaging snapshots run inside it. Inside, the
parameters are x; on exit the exact y values are copied back (``train()`` would recompute y from
x and z, which is not bit-exact in floating point), so evaluating never changes training.

Checkpoints are written in train mode (y, with z in the optimizer state and ``train_mode`` in
the groups), unlike the README's advice to store them in eval mode: ``checkpoint.pt`` is this
suite's resume file, and y is what resumes exactly; x is recovered from it by ``eval()``.

BatchNorm: running statistics gathered at y are wrong at x; the README asks to recompute them
in eval mode on about 50 training batches before evaluating. The optimizer cannot see the task,
so it declares ``batchnorm_batches`` and the loop
(``experiments.loop_evaluation.evaluated_weights``) does the recomputation for models that have
BatchNorm layers. The method needs no lr schedule (the preset runs ``schedule: constant``);
warmup is its own ``warmup_steps``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from schedulefree import AdamWScheduleFree as _AdamWScheduleFree
from torch import Tensor


class AdamWScheduleFree(_AdamWScheduleFree):
    """``schedulefree.AdamWScheduleFree`` (defaults: lr 0.0025, betas (0.9, 0.999), eps 1e-8,
    weight decay 0, no warmup, r 0, weight_lr_power 2), in train mode from construction and
    after ``load_state_dict``, with ``averaged_parameters()`` for evaluations."""

    required_schedule = "constant"
    """The loop's schedule must leave the lr alone (``build_optimizer`` refuses another)."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 0.0025,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        warmup_steps: int = 0,
        r: float = 0.0,
        weight_lr_power: float = 2.0,
        foreach: bool | None = None,
        batchnorm_batches: int = 50,
    ) -> None:
        if batchnorm_batches < 0:
            raise ValueError(f"invalid batchnorm_batches={batchnorm_batches!r}: must be >= 0")
        super().__init__(
            params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
            warmup_steps=warmup_steps, r=r, weight_lr_power=weight_lr_power,
            foreach=hasattr(torch, "_foreach_mul_") if foreach is None else foreach,
        )  # fmt: skip
        self.batchnorm_batches = batchnorm_batches
        """Training batches the loop runs at x to recompute BatchNorm statistics (README: 50)."""
        self.train()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self.train()  # a checkpoint written in eval mode resumes in train mode

    @contextmanager
    def averaged_parameters(self) -> Iterator[None]:
        """Inside: the parameters hold x (``eval()``); on exit the saved y values come back
        exactly and the optimizer is in train mode again."""
        saved = [
            (param, param.detach().clone())
            for group in self.param_groups
            for param in group["params"]
        ]
        self.eval()
        try:
            yield
        finally:
            with torch.no_grad():
                for param, value in saved:
                    param.copy_(value)
            for group in self.param_groups:
                group["train_mode"] = True
