"""AdaBound and AMSBound (Luo et al., ICLR 2019; docs/papers.md §1, "AdaBound / AMSBound")."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimizers.base import AdaptiveOptimizer, bias_corrections, require


class AdaBoundScalars(NamedTuple):
    """θ ← decay·θ − clamp(step_size/(√v + ε), lower, upper)·m."""

    decay: float
    step_size: float
    lower: float
    upper: float


class AdaBoundConstants(NamedTuple):
    beta1: float
    beta2: float
    eps: float
    l2: float
    decoupled_decay: bool
    amsbound: bool


def adabound_tensor_update(
    param: Tensor, grad: Tensor, moments: list[Tensor], s: AdaBoundScalars, c: AdaBoundConstants
) -> None:
    exp_avg, exp_avg_sq = moments[0], moments[1]
    if c.l2 != 0:
        grad = grad.add(param, alpha=c.l2)
    exp_avg.lerp_(grad, 1 - c.beta1)
    exp_avg_sq.mul_(c.beta2).addcmul_(grad, grad, value=1 - c.beta2)
    second = exp_avg_sq
    if c.amsbound:  # use the computed maximum, not a re-read of the buffer: one fused kernel
        second = torch.maximum(moments[2], exp_avg_sq)
        moments[2].copy_(second)
    step = (s.step_size / (second.sqrt() + c.eps)).clamp(s.lower, s.upper)
    if c.decoupled_decay:
        param.mul_(s.decay)
    param.sub_(step * exp_avg)


def adabound_foreach_update(
    params: list[Tensor],
    grads: list[Tensor],
    moments: list[list[Tensor]],
    s: AdaBoundScalars,
    c: AdaBoundConstants,
) -> None:
    """Clamps the denominator instead of the step: s/d ∈ [lo, up] ⇔ d ∈ [s/up, s/lo].

    Same values as the reference's ``full_like(step).div_(denom).clamp_(lo, up).mul_(m)`` up
    to rounding, with two fewer passes over the parameters.
    """
    exp_avgs, exp_avg_sqs = moments[0], moments[1]
    if c.l2 != 0:
        grads = torch._foreach_add(grads, params, alpha=c.l2)
    torch._foreach_lerp_(exp_avgs, grads, 1 - c.beta1)
    torch._foreach_mul_(exp_avg_sqs, c.beta2)
    torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - c.beta2)
    second = exp_avg_sqs
    if c.amsbound:
        torch._foreach_maximum_(moments[2], exp_avg_sqs)
        second = moments[2]
    if c.decoupled_decay:
        torch._foreach_mul_(params, s.decay)
    if s.upper <= 0.0 or s.step_size <= 0.0:
        return  # both bounds are 0 (lr or final_lr is 0): no update
    denom = torch._foreach_sqrt(second)
    torch._foreach_add_(denom, c.eps)
    min_denom = s.step_size / s.upper
    if min_denom > 0.0:
        torch._foreach_clamp_min_(denom, min_denom)
    if s.lower > 0.0:
        torch._foreach_clamp_max_(denom, s.step_size / s.lower)
    torch._foreach_addcdiv_(params, exp_avgs, denom, value=-s.step_size)


class AdaBound(AdaptiveOptimizer):
    r"""AdaBound (Luo et al. 2019, Alg. 2, as the reference ``adabound.py`` runs it).

    g ← g + wd·θ (coupled L2); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g² (AMSBound:
    v_max = max(v_max, v) is used instead of v — the only difference);
    step = η·√(1−β2^t)/(1−β1^t) / (√v + ε);  f = final_lr · η / η₀ where η₀ is the group's
    lr at construction (stored as ``base_lr`` in the param group), so a schedule that scales
    η scales the bounds too (reference behaviour, "a feature", AdaBound issue #9);
    lower = f·(1 − 1/(γt + 1)), upper = f·(1 + 1/(γt));  θ ← θ − clamp(step, lower, upper)·m
    (the raw m: its bias correction is in ``step``). Like the reference code there is no
    1/√t factor (the paper's Algorithm 2 has η_t = η/√t; its experiments ran the code).

    ``gamma = 0`` means bounds that never converge: upper = +∞ and lower = 0, i.e. Adam with
    ε on √v. ``decoupled_weight_decay=True`` follows the reference ``AdaBoundW`` (PR #14):
    no L2 in the gradient, θ ← θ − wd·θ after computing the step — **not** multiplied by η.

    ``effective_lr(p)``: the clipped step clamp(step, lower, upper) that multiplies the raw m.
    """

    tensor_update = staticmethod(adabound_tensor_update)
    foreach_update = staticmethod(adabound_foreach_update)

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        final_lr: float = 0.1,
        gamma: float = 1e-3,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsbound: bool = False,
        *,
        decoupled_weight_decay: bool = False,
        foreach: bool | None = None,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            final_lr=final_lr,
            gamma=gamma,
            eps=eps,
            weight_decay=weight_decay,
            amsbound=amsbound,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults, foreach=foreach, fused=fused)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        param_group.setdefault("base_lr", float(param_group.get("lr", self.defaults["lr"])))
        super().add_param_group(param_group)

    def validate_group(self, group: Mapping[str, Any]) -> None:
        super().validate_group(group)
        lr = float(group.get("base_lr", group["lr"]))
        require(lr > 0.0, "lr", lr, "must be > 0 for AdaBound (the bounds scale by lr/base lr)")
        require(group["final_lr"] >= 0.0, "final_lr", group["final_lr"], "must be >= 0")
        require(0.0 <= group["gamma"] < 1.0, "gamma", group["gamma"], "must be in [0, 1)")

    def moment_names(self, group: Mapping[str, Any]) -> tuple[str, ...]:
        if group["amsbound"]:
            return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
        return super().moment_names(group)

    def scalars(self, group: Mapping[str, Any], t: int) -> AdaBoundScalars:
        beta1, beta2 = group["betas"]
        bc1, bc2 = bias_corrections(beta1, beta2, t)
        lr = float(group["lr"])
        final_lr = group["final_lr"] * lr / group["base_lr"]
        gamma = group["gamma"]
        lower = final_lr * (1.0 - 1.0 / (gamma * t + 1.0))
        upper = final_lr * (1.0 + 1.0 / (gamma * t)) if gamma > 0 else math.inf
        decay = 1.0 - group["weight_decay"]
        return AdaBoundScalars(decay, lr * math.sqrt(bc2) / bc1, lower, upper)

    def constants(self, group: Mapping[str, Any]) -> AdaBoundConstants:
        beta1, beta2 = group["betas"]
        decoupled = group["decoupled_weight_decay"]
        wd = group["weight_decay"]
        return AdaBoundConstants(
            beta1,
            beta2,
            group["eps"],
            0.0 if decoupled else wd,
            decoupled and wd != 0,
            group["amsbound"],
        )

    def effective_lr_from_state(self, group: Mapping[str, Any], state: Mapping[str, Any]) -> Tensor:
        s = self.scalars(group, state["step"])
        second = state["max_exp_avg_sq"] if group["amsbound"] else state["exp_avg_sq"]
        return (s.step_size / (second.sqrt() + group["eps"])).clamp(s.lower, s.upper)


class AMSBound(AdaBound):
    """``AdaBound`` with ``amsbound=True`` by default (v_max in place of v)."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        final_lr: float = 0.1,
        gamma: float = 1e-3,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsbound: bool = True,
        *,
        decoupled_weight_decay: bool = False,
        foreach: bool | None = None,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            final_lr,
            gamma,
            eps,
            weight_decay,
            amsbound,
            decoupled_weight_decay=decoupled_weight_decay,
            foreach=foreach,
            fused=fused,
        )
