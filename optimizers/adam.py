"""Adam, AdamW and AMSGrad with a named ε placement (docs/papers.md §1, "Adam")."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimizers.base import AdaptiveOptimizer, bias_corrections, require

EPS_MODES = ("sqrt_v_hat", "sqrt_v")


class AdamScalars(NamedTuple):
    """Per-step numbers; the update is θ ← decay·θ − step_size · m / (√v + eps_term)."""

    decay: float
    step_size: float
    eps_term: float


class AdamConstants(NamedTuple):
    beta1: float
    beta2: float
    l2: float
    decoupled_decay: bool
    amsgrad: bool


def adam_scalars(group: Mapping[str, Any], t: int) -> AdamScalars:
    """Both ε placements as one form: m/(√v + ε·√(1−β2^t)) is m̂/(√v̂ + ε)·(1−β1^t)/√(1−β2^t)."""
    beta1, beta2 = group["betas"]
    bc1, bc2 = bias_corrections(beta1, beta2, t)
    lr = float(group["lr"])
    eps_term = group["eps"] * math.sqrt(bc2) if group["eps_mode"] == "sqrt_v_hat" else group["eps"]
    decay = 1.0 - lr * group["weight_decay"] if group["decoupled_weight_decay"] else 1.0
    return AdamScalars(decay, lr * math.sqrt(bc2) / bc1, eps_term)


def adam_constants(group: Mapping[str, Any], *, amsgrad: bool) -> AdamConstants:
    beta1, beta2 = group["betas"]
    decoupled = group["decoupled_weight_decay"]
    wd = group["weight_decay"]
    return AdamConstants(beta1, beta2, 0.0 if decoupled else wd, decoupled and wd != 0, amsgrad)


def adam_tensor_update(
    param: Tensor, grad: Tensor, moments: list[Tensor], s: AdamScalars, c: AdamConstants
) -> None:
    exp_avg, exp_avg_sq = moments[0], moments[1]
    if c.l2 != 0:
        grad = grad.add(param, alpha=c.l2)
    if c.decoupled_decay:
        param.mul_(s.decay)
    exp_avg.lerp_(grad, 1 - c.beta1)
    exp_avg_sq.mul_(c.beta2).addcmul_(grad, grad, value=1 - c.beta2)
    second = exp_avg_sq
    if c.amsgrad:  # use the computed maximum, not a re-read of the buffer: one fused kernel
        second = torch.maximum(moments[2], exp_avg_sq)
        moments[2].copy_(second)
    param.sub_(s.step_size * exp_avg / (second.sqrt() + s.eps_term))


def adam_foreach_update(
    params: list[Tensor],
    grads: list[Tensor],
    moments: list[list[Tensor]],
    s: AdamScalars,
    c: AdamConstants,
) -> None:
    exp_avgs, exp_avg_sqs = moments[0], moments[1]
    if c.l2 != 0:
        grads = torch._foreach_add(grads, params, alpha=c.l2)
    if c.decoupled_decay:
        torch._foreach_mul_(params, s.decay)
    torch._foreach_lerp_(exp_avgs, grads, 1 - c.beta1)
    torch._foreach_mul_(exp_avg_sqs, c.beta2)
    torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - c.beta2)
    second = exp_avg_sqs
    if c.amsgrad:
        torch._foreach_maximum_(moments[2], exp_avg_sqs)
        second = moments[2]
    denom = torch._foreach_sqrt(second)
    torch._foreach_add_(denom, s.eps_term)
    torch._foreach_addcdiv_(params, exp_avgs, denom, value=-s.step_size)


class Adam(AdaptiveOptimizer):
    r"""Adam (Kingma & Ba 2015, Alg. 1) with the ε placement as a named switch.

    m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  t-th update:

    - ``eps_mode="sqrt_v_hat"`` (torch.optim.Adam): θ ← θ − η·m̂/(√v̂ + ε), m̂ = m/(1−β1^t),
      v̂ = v/(1−β2^t);
    - ``eps_mode="sqrt_v"`` (the RAdam repository's Adam baselines, docs/papers.md §1):
      θ ← θ − η·√(1−β2^t)/(1−β1^t) · m/(√v + ε). At t = 1, β2 = 0.999 the effective ε is
      √1000 ≈ 31.6× larger than in the torch form.

    ``decoupled_weight_decay=False`` adds wd·θ to the gradient before the moments (L2);
    ``True`` multiplies θ by (1 − η·wd) before every update (Loshchilov & Hutter). ``amsgrad``
    (Reddi et al. 2018) replaces v by v_max = max(v_max, v) (uncorrected) in the denominator.

    ``effective_lr(p)``: with ``sqrt_v_hat`` the factor η/(√v̂ + ε) that multiplies m̂; with
    ``sqrt_v`` the factor η·√(1−β2^t)/(1−β1^t)/(√v + ε) that multiplies the raw m.
    """

    tensor_update = staticmethod(adam_tensor_update)
    foreach_update = staticmethod(adam_foreach_update)

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        amsgrad: bool = False,
        decoupled_weight_decay: bool = False,
        eps_mode: str = "sqrt_v_hat",
        foreach: bool | None = None,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            decoupled_weight_decay=decoupled_weight_decay,
            eps_mode=eps_mode,
        )
        super().__init__(params, defaults, foreach=foreach, fused=fused)

    def validate_group(self, group: Mapping[str, Any]) -> None:
        super().validate_group(group)
        require(
            group["eps_mode"] in EPS_MODES, "eps_mode", group["eps_mode"], f"one of {EPS_MODES}"
        )

    def moment_names(self, group: Mapping[str, Any]) -> tuple[str, ...]:
        return (
            ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
            if group["amsgrad"]
            else super().moment_names(group)
        )

    def scalars(self, group: Mapping[str, Any], t: int) -> AdamScalars:
        return adam_scalars(group, t)

    def constants(self, group: Mapping[str, Any]) -> AdamConstants:
        return adam_constants(group, amsgrad=group["amsgrad"])

    def effective_lr_from_state(self, group: Mapping[str, Any], state: Mapping[str, Any]) -> Tensor:
        beta1, beta2 = group["betas"]
        bc1, bc2 = bias_corrections(beta1, beta2, state["step"])
        second = state["max_exp_avg_sq"] if group["amsgrad"] else state["exp_avg_sq"]
        lr = float(group["lr"])
        if group["eps_mode"] == "sqrt_v_hat":
            return lr / ((second / bc2).sqrt() + group["eps"])
        return lr * math.sqrt(bc2) / bc1 / (second.sqrt() + group["eps"])


class AdamW(Adam):
    """``Adam`` with decoupled weight decay by default (weight_decay 1e-2, as torch.optim.AdamW)."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        *,
        amsgrad: bool = False,
        decoupled_weight_decay: bool = True,
        eps_mode: str = "sqrt_v_hat",
        foreach: bool | None = None,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad=amsgrad,
            decoupled_weight_decay=decoupled_weight_decay,
            eps_mode=eps_mode,
            foreach=foreach,
            fused=fused,
        )


class AMSGrad(Adam):
    """``Adam`` with ``amsgrad=True`` by default (Reddi et al. 2018; an AdaBound paper baseline)."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        amsgrad: bool = True,
        decoupled_weight_decay: bool = False,
        eps_mode: str = "sqrt_v_hat",
        foreach: bool | None = None,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad=amsgrad,
            decoupled_weight_decay=decoupled_weight_decay,
            eps_mode=eps_mode,
            foreach=foreach,
            fused=fused,
        )
