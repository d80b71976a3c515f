"""NT-ASGD: non-monotonically triggered averaged SGD (Merity et al. 2018, §3, Algorithm 1), as
AWD-LSTM's ``main.py`` runs it (salesforce/awd-lstm-lm, and its copy in the AdaBelief
repository's ``PyTorch_Experiments/LSTM``).

Before the trigger the update is torch's SGD without momentum, coupled L2:
θ ← θ − η·(g + wd·θ). After every evaluation the loop calls ``observe(metrics)``: with ``v`` the
monitored value and ``history`` the values of the earlier evaluations, averaging starts when
``len(history) > nonmono`` and ``v > min(history[:-nonmono])`` (the value is worse than the best
one seen more than ``nonmono`` evaluations ago). From the next update on it is torch's
``ASGD(lr, t0, lambd, alpha, weight_decay)``, which AWD-LSTM builds with t0 = 0, λ = 0:
per parameter, θ ← θ·(1 − λ·η_t) − η_t·(g + wd·θ); the average ``ax`` becomes θ after the first
two averaged updates and then ``ax ← ax + (θ − ax)·µ``; afterwards η ← lr/(1 + λ·lr·t)^α and
µ ← 1/max(1, t − t0), so η_t is the lr of the previous update (η_1 the first one's) — with λ = 0
that is the only difference from SGD. AWD-LSTM evaluates with the averaged weights
(``averaged_parameters``, ``evaluate_averaged=True``); the AdaBelief copy comments that swap out
and evaluates the raw weights (``evaluate_averaged=False``).

One difference from the reference code: it builds the ASGD optimizer with the initial lr,
discarding any decay applied before the switch; here the loop's schedule keeps applying. The two
agree whenever the switch comes before the first decay, as in every run of the AdaBelief rerun
(its recorded test curves trigger the rule within the first 30 epochs; the decays are at 100 and
145).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer


class NTASGD(Optimizer):
    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 30.0,
        weight_decay: float = 0.0,
        nonmono: int = 5,
        monitor: str = "val/loss",
        evaluate_averaged: bool = True,
        t0: int = 0,
        lambd: float = 0.0,
        alpha: float = 0.75,
    ) -> None:
        if not lr > 0.0:
            raise ValueError(f"invalid lr={lr!r}: must be > 0")
        if weight_decay < 0.0:
            raise ValueError(f"invalid weight_decay={weight_decay!r}: must be >= 0")
        if isinstance(nonmono, bool) or not isinstance(nonmono, int) or nonmono < 0:
            raise ValueError(f"invalid nonmono={nonmono!r}: an integer >= 0")
        if lambd < 0.0 or t0 < 0:
            raise ValueError(f"invalid lambd={lambd!r} or t0={t0!r}: must be >= 0")
        defaults = dict(lr=lr, weight_decay=weight_decay, t0=t0, lambd=lambd, alpha=alpha)
        super().__init__(params, defaults)
        self.nonmono, self.monitor = nonmono, monitor
        self.evaluate_averaged = evaluate_averaged
        self.averaging = False
        self.history: list[float] = []
        self.switched_at: int | None = None
        """The evaluation (1-based) whose value triggered averaging."""

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, decay = group["lr"], group["weight_decay"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad if decay == 0 else param.grad.add(param, alpha=decay)
                if not self.averaging:
                    param.add_(grad, alpha=-lr)
                else:
                    self._averaged_update(param, grad, group)
        return loss

    def _averaged_update(self, param: Tensor, grad: Tensor, group: Mapping[str, Any]) -> None:
        state = self.state[param]
        if not state:
            state.update(step=0, eta=float(group["lr"]), mu=1.0, ax=torch.zeros_like(param))
        state["step"] += 1
        eta, lambd = state["eta"], group["lambd"]
        if lambd:
            param.mul_(1.0 - lambd * eta)
        param.add_(grad, alpha=-eta)
        if state["mu"] != 1.0:
            state["ax"].add_(param.sub(state["ax"]).mul(state["mu"]))
        else:
            state["ax"].copy_(param)
        step, lr = state["step"], group["lr"]
        state["eta"] = lr / ((1.0 + lambd * lr * step) ** group["alpha"])
        state["mu"] = 1.0 / max(1, step - group["t0"])

    def observe(self, metrics: Mapping[str, float]) -> None:
        """Apply the trigger to one evaluation's metrics (module docstring)."""
        if self.monitor not in metrics:
            known = ", ".join(sorted(metrics)) or "none"
            raise ValueError(
                f"NTASGD monitors {self.monitor!r}, which this evaluation lacks ({known})"
            )
        if self.averaging:
            return
        value = float(metrics[self.monitor])
        earlier = self.history[: -self.nonmono] if self.nonmono else self.history
        if len(self.history) > self.nonmono and value > min(earlier):
            self.averaging = True
            self.switched_at = len(self.history) + 1
        self.history.append(value)

    @contextmanager
    def averaged_parameters(self) -> Iterator[None]:
        """Inside: the parameters hold their averages (once averaging has started and
        ``evaluate_averaged``); restored on exit."""
        if not (self.averaging and self.evaluate_averaged):
            yield
            return
        saved = []
        with torch.no_grad():
            for group in self.param_groups:
                for param in group["params"]:
                    average = self.state[param].get("ax")
                    if average is not None:
                        saved.append((param, param.detach().clone()))
                        param.copy_(average)
        try:
            yield
        finally:
            with torch.no_grad():
                for param, value in saved:
                    param.copy_(value)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["ntasgd"] = {
            "averaging": self.averaging,
            "history": list(self.history),
            "switched_at": self.switched_at,
        }
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = dict(state_dict)
        trigger = state_dict.pop("ntasgd")
        super().load_state_dict(state_dict)
        self.averaging = bool(trigger["averaging"])
        self.history = [float(v) for v in trigger["history"]]
        self.switched_at = trigger["switched_at"]
