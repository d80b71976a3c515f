"""Rectified Adam (Liu et al., ICLR 2020; docs/papers.md §1, "RAdam")."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimizers.base import AdaptiveOptimizer, bias_corrections, require


class Rectification(NamedTuple):
    """ρ∞, ρ_t, whether the variance is tractable at step t, and r_t (None when it is not)."""

    rho_inf: float
    rho_t: float
    rectified: bool
    r_t: float | None


def rectification_at(beta2: float, t: int, threshold: float, strict: bool) -> Rectification:
    """RAdam Alg. 2: ρ∞ = 2/(1−β2) − 1, ρ_t = ρ∞ − 2tβ2^t/(1−β2^t), r_t (Eq. 6)."""
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    beta2_t = beta2**t
    rho_t = rho_inf - 2.0 * t * beta2_t / (1.0 - beta2_t)
    # ρ∞ ≤ 4 (β2 ≤ 0.6): r_t is undefined and RAdam is SGD with momentum throughout (§3).
    rectified = rho_inf > 4.0 and (rho_t > threshold if strict else rho_t >= threshold)
    if not rectified:
        return Rectification(rho_inf, rho_t, False, None)
    ratio = (rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)
    return Rectification(rho_inf, rho_t, True, math.sqrt(ratio))


class RAdamScalars(NamedTuple):
    """θ ← decay·θ − m·(rect_step/(√v + ε) + sgd_step).

    One expression covers the three regimes: rect_step = η·r_t·√(1−β2^t)/(1−β1^t) and
    sgd_step = 0 when rectified; rect_step = 0 and sgd_step = η/(1−β1^t) in the momentum
    fallback; both 0 (and decay 1) when the update is skipped.
    """

    decay: float
    rect_step: float
    sgd_step: float


class RAdamConstants(NamedTuple):
    beta1: float
    beta2: float
    eps: float
    l2: float
    decoupled_decay: bool


def radam_tensor_update(
    param: Tensor, grad: Tensor, moments: list[Tensor], s: RAdamScalars, c: RAdamConstants
) -> None:
    exp_avg, exp_avg_sq = moments[0], moments[1]
    if c.l2 != 0:
        grad = grad.add(param, alpha=c.l2)
    if c.decoupled_decay:
        param.mul_(s.decay)
    exp_avg.lerp_(grad, 1 - c.beta1)
    exp_avg_sq.mul_(c.beta2).addcmul_(grad, grad, value=1 - c.beta2)
    param.sub_(exp_avg * (s.rect_step / (exp_avg_sq.sqrt() + c.eps) + s.sgd_step))


def radam_foreach_update(
    params: list[Tensor],
    grads: list[Tensor],
    moments: list[list[Tensor]],
    s: RAdamScalars,
    c: RAdamConstants,
) -> None:
    exp_avgs, exp_avg_sqs = moments[0], moments[1]
    if c.l2 != 0:
        grads = torch._foreach_add(grads, params, alpha=c.l2)
    if c.decoupled_decay and s.decay != 1.0:
        torch._foreach_mul_(params, s.decay)
    torch._foreach_lerp_(exp_avgs, grads, 1 - c.beta1)
    torch._foreach_mul_(exp_avg_sqs, c.beta2)
    torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - c.beta2)
    if s.rect_step != 0.0:
        denom = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_add_(denom, c.eps)
        torch._foreach_addcdiv_(params, exp_avgs, denom, value=-s.rect_step)
    elif s.sgd_step != 0.0:
        torch._foreach_add_(params, exp_avgs, alpha=-s.sgd_step)


class RAdam(AdaptiveOptimizer):
    r"""Rectified Adam: Liu et al. 2020, Algorithm 2 with the rectification term of Eq. 6.

    m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  ρ∞ = 2/(1−β2) − 1;
    ρ_t = ρ∞ − 2tβ2^t/(1−β2^t);  r_t = √((ρ_t−4)(ρ_t−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρ_t)).

    - variance tractable (ρ_t ≥ ``threshold``, or ρ_t > ``threshold`` with
      ``strict_threshold``): θ ← θ − η·r_t·√(1−β2^t)/(1−β1^t) · m/(√v + ε) — ε on the
      uncorrected √v, as in the reference code and torch.optim.RAdam;
    - otherwise, ``degenerated_to_sgd=True``: θ ← θ − η·m/(1−β1^t) (SGD with momentum; what
      the paper's experiments ran); ``False``: no update and no weight decay, the moments
      still accumulate (the packaged reference default since 2021).

    ``threshold``: Algorithm 2 says ρ_t > 4 (``threshold=4, strict_threshold=True``); every
    copy of the reference code uses ρ_t ≥ 5 (the default); torch.optim.RAdam uses ρ_t > 5.
    With β2 = 0.999 the first rectified step is t = 5 under ρ_t > 4 and t = 6 under the others.

    ``decoupled_weight_decay=True`` (reference): θ ← θ·(1 − η·wd) on every step that updates;
    ``False`` (torch's default): g ← g + wd·θ before the moments. torch.optim.RAdam equals
    ``RAdam(threshold=5, strict_threshold=True, decoupled_weight_decay=False)``.

    ρ_t, r_t and the step sizes are computed once per param group and step, not per tensor.
    ``effective_lr(p)``: η·r_t·√(1−β2^t)/(1−β1^t)/(√v + ε) when rectified, η/(1−β1^t) in
    the fallback, 0 when skipped — each multiplies the raw m.
    """

    tensor_update = staticmethod(radam_tensor_update)
    foreach_update = staticmethod(radam_foreach_update)

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        threshold: float = 5.0,
        strict_threshold: bool = False,
        degenerated_to_sgd: bool = True,
        decoupled_weight_decay: bool = True,
        foreach: bool | None = None,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            threshold=threshold,
            strict_threshold=strict_threshold,
            degenerated_to_sgd=degenerated_to_sgd,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults, foreach=foreach, fused=fused)

    def validate_group(self, group: Mapping[str, Any]) -> None:
        super().validate_group(group)
        threshold = group["threshold"]
        require(threshold >= 4.0, "threshold", threshold, "must be >= 4 (r_t needs ρ_t > 4)")

    def _rectification(self, group: Mapping[str, Any], t: int) -> Rectification:
        return rectification_at(group["betas"][1], t, group["threshold"], group["strict_threshold"])

    def scalars(self, group: Mapping[str, Any], t: int) -> RAdamScalars:
        beta1, beta2 = group["betas"]
        bc1, bc2 = bias_corrections(beta1, beta2, t)
        lr = float(group["lr"])
        rect = self._rectification(group, t)
        updates = rect.rectified or group["degenerated_to_sgd"]
        decay = 1.0 - lr * group["weight_decay"] if updates else 1.0
        if rect.rectified:
            return RAdamScalars(decay, lr * rect.r_t * math.sqrt(bc2) / bc1, 0.0)
        return RAdamScalars(decay, 0.0, lr / bc1 if updates else 0.0)

    def constants(self, group: Mapping[str, Any]) -> RAdamConstants:
        beta1, beta2 = group["betas"]
        decoupled = group["decoupled_weight_decay"]
        wd = group["weight_decay"]
        return RAdamConstants(
            beta1, beta2, group["eps"], 0.0 if decoupled else wd, decoupled and wd != 0
        )

    def effective_lr_from_state(self, group: Mapping[str, Any], state: Mapping[str, Any]) -> Tensor:
        s = self.scalars(group, state["step"])
        exp_avg_sq = state["exp_avg_sq"]
        return s.rect_step / (exp_avg_sq.sqrt() + group["eps"]) + s.sgd_step

    def rectification(self, group_index: int = 0) -> dict[str, Any]:
        """ρ_t, r_t and whether the latest step of the group was rectified.

        The latest step is the largest ``step`` among the group's parameters (0 before any
        update, reported as not rectified with ρ_t and r_t None).
        """
        group = self.param_groups[group_index]
        steps = [self.state[p]["step"] for p in group["params"] if self.state.get(p)]
        t = max(steps, default=0)
        if t == 0:
            return dict(step=0, rho_t=None, r_t=None, rectified=False)
        rect = self._rectification(group, t)
        return dict(step=t, rho_t=rect.rho_t, r_t=rect.r_t, rectified=rect.rectified)
