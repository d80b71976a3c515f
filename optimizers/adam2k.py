"""Adam-2k: Adam whose first updates only estimate v (Liu et al. 2020, §3.1; docs/papers.md §1)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimizers.base import AdaptiveOptimizer, bias_corrections, require


class Adam2kScalars(NamedTuple):
    """``active`` is 0 while frozen (then decay = 1 and step_size = 0), 1 afterwards."""

    active: float
    decay: float
    step_size: float


class Adam2kConstants(NamedTuple):
    beta1: float
    beta2: float
    eps: float
    l2: float
    decoupled_decay: bool


def adam2k_tensor_update(
    param: Tensor, grad: Tensor, moments: list[Tensor], s: Adam2kScalars, c: Adam2kConstants
) -> None:
    exp_avg, exp_avg_sq = moments[0], moments[1]
    if c.l2 != 0:
        grad = grad.add(param, alpha=c.l2)
    exp_avg_sq.mul_(c.beta2).addcmul_(grad, grad, value=1 - c.beta2)
    exp_avg.lerp_(grad, (1 - c.beta1) * s.active)
    if c.decoupled_decay:
        param.mul_(s.decay)
    param.sub_(s.step_size * exp_avg / (exp_avg_sq.sqrt() + c.eps))


def adam2k_foreach_update(
    params: list[Tensor],
    grads: list[Tensor],
    moments: list[list[Tensor]],
    s: Adam2kScalars,
    c: Adam2kConstants,
) -> None:
    exp_avgs, exp_avg_sqs = moments[0], moments[1]
    if c.l2 != 0:
        grads = torch._foreach_add(grads, params, alpha=c.l2)
    torch._foreach_mul_(exp_avg_sqs, c.beta2)
    torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - c.beta2)
    if s.active == 0.0:
        return
    if c.decoupled_decay:
        torch._foreach_mul_(params, s.decay)
    torch._foreach_lerp_(exp_avgs, grads, 1 - c.beta1)
    denom = torch._foreach_sqrt(exp_avg_sqs)
    torch._foreach_add_(denom, c.eps)
    torch._foreach_addcdiv_(params, exp_avgs, denom, value=-s.step_size)


class Adam2k(AdaptiveOptimizer):
    r"""Adam-2k (RAdam paper §3.1): the first ``freeze_steps`` updates touch only v.

    For t ≤ ``freeze_steps``: v ← β2·v + (1−β2)·g²; m and θ are frozen and no weight decay
    is applied (with ``decoupled_weight_decay=False`` the L2 term is part of the gradient
    that v sees, as it would be in Adam). For t > ``freeze_steps``: m ← β1·m + (1−β1)·g and
    θ ← θ − η·√(1−β2^t)/(1−β1^t) · m/(√v + ε), ε on the uncorrected √v like the RAdam
    repository's ``adam2`` and bias corrections by the global t (frozen steps included), so m
    starts from 0 without its own bias correction. Decoupled decay θ ← θ·(1 − η·wd) by default.

    ``effective_lr(p)``: 0 while frozen, then η·√(1−β2^t)/(1−β1^t)/(√v + ε), multiplying m.
    """

    tensor_update = staticmethod(adam2k_tensor_update)
    foreach_update = staticmethod(adam2k_foreach_update)

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        freeze_steps: int = 2000,
        decoupled_weight_decay: bool = True,
        foreach: bool | None = None,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            freeze_steps=freeze_steps,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults, foreach=foreach, fused=fused)

    def validate_group(self, group: Mapping[str, Any]) -> None:
        super().validate_group(group)
        freeze_steps = group["freeze_steps"]
        require(
            isinstance(freeze_steps, int)
            and not isinstance(freeze_steps, bool)
            and freeze_steps >= 0,
            "freeze_steps",
            freeze_steps,
            "must be an int >= 0",
        )

    def scalars(self, group: Mapping[str, Any], t: int) -> Adam2kScalars:
        if t <= group["freeze_steps"]:
            return Adam2kScalars(0.0, 1.0, 0.0)
        beta1, beta2 = group["betas"]
        bc1, bc2 = bias_corrections(beta1, beta2, t)
        lr = float(group["lr"])
        return Adam2kScalars(1.0, 1.0 - lr * group["weight_decay"], lr * math.sqrt(bc2) / bc1)

    def constants(self, group: Mapping[str, Any]) -> Adam2kConstants:
        beta1, beta2 = group["betas"]
        decoupled = group["decoupled_weight_decay"]
        wd = group["weight_decay"]
        return Adam2kConstants(
            beta1, beta2, group["eps"], 0.0 if decoupled else wd, decoupled and wd != 0
        )

    def effective_lr_from_state(self, group: Mapping[str, Any], state: Mapping[str, Any]) -> Tensor:
        s = self.scalars(group, state["step"])
        return s.step_size / (state["exp_avg_sq"].sqrt() + group["eps"])
