"""Warmup factors: pure functions of the 1-based update index t, multiplied into the main schedule.

A warmup never lives inside an optimizer (the RAdam repository's ``AdamW(warmup=...)`` does; here
the same ramp is a factor the loop applies). Every warmup is positive at t = 1: an lr of 0 on the
first update wastes it and collapses AdaBound's bounds to 0 (docs/papers.md §1, "Step and epoch
indexing").

- ``linear``: lr_t = init_lr + t·(η − init_lr)/T_w while t < T_w, then η — the RAdam CIFAR
  ``AdamW`` ramp, whose ``state['step']`` is already incremented (1-based) when the lr is computed.
  As a factor of η: init + t·(1 − init)/T_w with init = init_lr/η.
- ``untuned_linear``: ω_t = min(1, t·(1 − β2)/2), i.e. T_w = 2/(1 − β2) (Ma & Yarats 2019,
  arXiv 1910.04209, "rule-of-thumb" linear warmup; 2000 updates for β2 = 0.999).
- ``untuned_exponential``: ω_t = 1 − exp(−(1 − β2)·t) (Ma & Yarats 2019, exponential warmup).
"""

from __future__ import annotations

import math
from collections.abc import Callable

Factor = Callable[[int], float]


def no_warmup() -> Factor:
    """The factor 1 on every update."""

    def factor(t: int) -> float:
        return 1.0

    return factor


def linear_warmup(steps: int, init_factor: float) -> Factor:
    """Linear ramp from ``init_factor`` (at t = 0, never applied) to 1 at t = ``steps``.

    ``steps = 0`` disables the ramp. ``init_factor`` is the absolute ``init_lr`` divided by the
    optimizer's base lr (1e-6/η in the RAdam CIFAR ``AdamW``, 1e-8/η in the packaged one).
    """
    if steps < 0:
        raise ValueError(f"warmup linear: steps must be >= 0, got {steps}")
    if init_factor < 0:
        raise ValueError(f"warmup linear: init_lr must be >= 0, got factor {init_factor}")

    def factor(t: int) -> float:
        if t >= steps:
            return 1.0
        return init_factor + t * (1.0 - init_factor) / steps

    return factor


def untuned_linear_warmup(beta2: float) -> Factor:
    """Ma & Yarats' untuned linear warmup ω_t = min(1, t·(1 − β2)/2)."""
    _check_beta2(beta2, "untuned_linear")
    rate = (1.0 - beta2) / 2.0

    def factor(t: int) -> float:
        return min(1.0, t * rate)

    return factor


def untuned_exponential_warmup(beta2: float) -> Factor:
    """Ma & Yarats' untuned exponential warmup ω_t = 1 − exp(−(1 − β2)·t)."""
    _check_beta2(beta2, "untuned_exponential")
    rate = 1.0 - beta2

    def factor(t: int) -> float:
        return -math.expm1(-rate * t)

    return factor


def _check_beta2(beta2: float, name: str) -> None:
    # β2 = 1 would make the warmup 0 forever; β2 < 0 is not an Adam β2.
    if not 0.0 <= beta2 < 1.0:
        raise ValueError(f"warmup {name}: betas[1] must be in [0, 1), got {beta2}")
