"""The learning-rate probe: effective per-coordinate step sizes during training (opt-in).

AdaBound (Luo et al. 2019, §3 and Fig. 1) motivates dynamic bounds with a heat map of Adam's
per-coordinate learning rates sampled at the end of training — 9 convolution-kernel coordinates
and 1 final-layer bias — which span from below 0.01 to above 1000. This probe records, at each
epoch end, the factor each sampled coordinate's update applied to its moment
(``optimizer.effective_lr``; for AdaBound/AMSBound the clipped step; the group lr for optimizers
without one, such as SGD), plus the distribution over
all coordinates (min, percentiles, max), and RAdam's ρ_t and r_t at every logged step. Events go
to ``metrics.jsonl`` under ``diag/``. When ``diagnostics.lr_probe`` is false nothing is built.
"""

from __future__ import annotations

from typing import Any

import torch
from omegaconf import DictConfig
from torch import nn

PERCENTILES = (1, 5, 25, 50, 75, 95, 99)


def sample_coordinates(
    model: nn.Module, conv_coordinates: int, bias_coordinates: int, seed: int
) -> list[tuple[str, int]]:
    """(parameter name, flat index) pairs: a seeded uniform sample of convolution-kernel entries
    and of the last linear layer's bias."""
    generator = torch.Generator().manual_seed(seed)
    named = dict(model.named_parameters())
    kernels = [name for name, p in named.items() if p.ndim == 4]
    linears = [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    final_bias = f"{linears[-1]}.bias" if linears else None
    chosen: list[tuple[str, int]] = []
    if kernels and conv_coordinates:
        sizes = torch.tensor([named[name].numel() for name in kernels])
        offsets = torch.cumsum(sizes, 0)
        picks = torch.randperm(int(sizes.sum()), generator=generator)[:conv_coordinates]
        for flat in sorted(picks.tolist()):
            which = int(torch.searchsorted(offsets, flat, right=True))
            start = int(offsets[which - 1]) if which else 0
            chosen.append((kernels[which], flat - start))
    if final_bias in named and bias_coordinates:
        size = named[final_bias].numel()
        picks = torch.randperm(size, generator=generator)[:bias_coordinates]
        chosen.extend((final_bias, index) for index in sorted(picks.tolist()))
    return chosen


class LearningRateProbe:
    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        conv_coordinates: int = 9,
        bias_coordinates: int = 1,
        seed: int = 0,
    ) -> None:
        self.optimizer = optimizer
        self.effective_lr = getattr(optimizer, "effective_lr", self.group_lr)
        self.parameters = dict(model.named_parameters())
        self.coordinates = sample_coordinates(model, conv_coordinates, bias_coordinates, seed)

    def group_lr(self, param: torch.Tensor) -> torch.Tensor:
        """For optimizers without per-coordinate step sizes (SGD, or any class that does not
        expose ``effective_lr``): every coordinate's rate is its group's lr."""
        group = next(g for g in self.optimizer.param_groups if any(p is param for p in g["params"]))
        return torch.full_like(param, group["lr"], dtype=torch.float32)

    def epoch_event(self) -> dict[str, float]:
        """Sampled coordinates and the distribution over every coordinate, as ``diag/`` keys."""
        event: dict[str, float] = {}
        for name, index in self.coordinates:
            value = self.effective_lr(self.parameters[name]).reshape(-1)[index]
            event[f"diag/lr/{name}[{index}]"] = float(value)
        every = torch.cat(
            [self.effective_lr(p).reshape(-1).float() for p in self.parameters.values()]
        )
        stride = every.numel() // 2**24 + 1  # torch.quantile takes at most 2**24 values
        levels = torch.tensor([q / 100 for q in PERCENTILES], dtype=torch.float32)
        quantiles = torch.quantile(every[::stride], levels)
        event["diag/lr_all/min"] = float(every.min())
        event["diag/lr_all/max"] = float(every.max())
        for q, value in zip(PERCENTILES, quantiles.tolist(), strict=True):
            event[f"diag/lr_all/p{q}"] = value
        return event

    def step_event(self) -> dict[str, Any]:
        """RAdam's ρ_t and r_t for the latest step of the first group (empty for others)."""
        if not hasattr(self.optimizer, "rectification"):
            return {}
        rect = self.optimizer.rectification(0)
        return {"diag/rho_t": rect["rho_t"], "diag/r_t": rect["r_t"]}


def build_probe(
    diagnostics: DictConfig, model: nn.Module, optimizer: torch.optim.Optimizer
) -> LearningRateProbe | None:
    """The probe ``diagnostics`` asks for (``diagnostics.lr_probe``), or None."""
    if not diagnostics.lr_probe:
        return None
    return LearningRateProbe(
        model, optimizer, diagnostics.conv_coordinates, diagnostics.bias_coordinates,
        diagnostics.probe_seed,
    )  # fmt: skip
