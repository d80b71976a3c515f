"""Optimizers from maintained libraries, run as their libraries ship them: the modern baselines
of the benchmark. Each preset in ``configs/optimizer/`` names one of these and cites
its paper and the library's defaults.

- torch.optim: ``TorchAdamW`` (torch's ``AdamW``; ``optimizers.AdamW`` is the suite's own
  implementation of the same update), ``NAdam``, ``Adafactor`` (torch's, with its ``eps`` pair
  as two keywords). torch's ``Muon`` runs through ``optimizers.MuonWithAdamW``, which splits the
  model's parameters between Muon and AdamW.
- pytorch-optimizer (kozistr/pytorch_optimizer): ``Lion``, ``SOAP``, ``ADOPT``.
- schedulefree (facebookresearch/schedule_free): ``optimizers.AdamWScheduleFree`` adapts its
  ``AdamWScheduleFree`` to the loop.

This module is imported only by the presets that name it: importing pytorch-optimizer costs
seconds (it imports torch.distributed.tensor), which ``import optimizers`` should not pay.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from pytorch_optimizer import ADOPT, SOAP, Lion
from torch import Tensor
from torch.optim import NAdam

__all__ = ["TorchAdamW", "NAdam", "Adafactor", "Lion", "SOAP", "ADOPT"]


class TorchAdamW(torch.optim.AdamW):
    """torch.optim.AdamW unchanged, under a name that tells it from the suite's own
    ``optimizers.AdamW`` (in run directories, tables and summaries)."""


class Adafactor(torch.optim.Adafactor):
    """torch.optim.Adafactor with its ``eps=(ε1, ε2)`` pair as ``eps1`` and ``eps2`` (Shazeer &
    Stern 2018, Algorithm 4: ε1 regularises the squared gradient — ``None`` is torch's machine
    epsilon of the parameter's dtype —, ε2 floors the parameter scale of the relative step), so
    a preset and a sweep set each as a number. Same update, same state, torch's defaults."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps1: float | None = None,
        eps2: float = 1e-3,
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params, lr=lr, beta2_decay=beta2_decay, eps=(eps1, eps2), d=d,
            weight_decay=weight_decay, foreach=foreach, maximize=maximize,
        )  # fmt: skip
