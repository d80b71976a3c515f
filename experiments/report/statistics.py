"""Statistics over seeds: mean, sample std, Student's t-interval of the mean, a paired t-test.

The interval over the n seeds of a setting is mean ± t(0.975, n − 1) · s / √n, with s the sample
standard deviation (ddof 1): exact for normal data at any n, which is what a handful of seeds
needs (a percentile bootstrap of 3 values is their [min, max], which covers the mean 75% of the
time). Quantiles and p-values come from ``scipy.stats``. One std convention everywhere: the
sample std, in tables and in the figures' bands.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
INTERVAL_NAME = "95% Student's t-interval of the mean over seeds"
"""What every table's CI column is (its notes say so)."""
MAX_SEEDS = 1000
"""``seeds_for_half_width`` gives up beyond this many seeds."""


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    std: float
    """Sample standard deviation (ddof 1); nan for n < 2."""
    ci_low: float
    ci_high: float
    """Student's t-interval of the mean; nan for n < 2 (one seed has no interval)."""

    @property
    def ci_half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2


def t_multiplier(n: int, confidence: float = CONFIDENCE) -> float:
    """t(1 − (1 − confidence)/2, n − 1): the interval's half-width in standard errors."""
    return float(stats.t.ppf((1 + confidence) / 2, n - 1))


def sample_std(values: Sequence[float] | np.ndarray) -> float:
    """The sample standard deviation (ddof 1), nan for fewer than two values."""
    data = np.asarray(values, dtype=float)
    return float(data.std(ddof=1)) if data.size > 1 else math.nan


def summarize(values: Sequence[float], confidence: float = CONFIDENCE) -> Summary:
    """n, mean, sample std and the t-interval of the mean of one setting's seeds."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan)
    mean, std = float(data.mean()), sample_std(data)
    if data.size < 2:
        return Summary(1, mean, std, math.nan, math.nan)
    half = t_multiplier(data.size, confidence) * std / math.sqrt(data.size)
    return Summary(int(data.size), mean, std, mean - half, mean + half)


def summarize_many(samples: Sequence[Sequence[float]]) -> list[Summary]:
    return [summarize(values) for values in samples]


def seeds_for_half_width(
    std: float, half_width: float, at_least: int = 2, confidence: float = CONFIDENCE
) -> int | None:
    """The fewest seeds (≥ ``at_least``) whose t-interval would be at most ``half_width`` wide on
    each side if their std were ``std``; None when no number up to ``MAX_SEEDS`` would do."""
    if not (math.isfinite(std) and half_width > 0):
        return None
    for n in range(max(at_least, 2), MAX_SEEDS + 1):
        if t_multiplier(n, confidence) * std / math.sqrt(n) <= half_width:
            return n
    return None


@dataclass(frozen=True)
class PairedComparison:
    n: int
    mean: float
    """Mean of the paired differences a − b."""
    ci_low: float
    ci_high: float
    """t interval of the mean difference (consistent with the p-value: excludes 0 iff p < α)."""
    p_value: float
    """Two-sided paired t-test."""


def paired_comparison(
    a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE
) -> PairedComparison:
    """Paired t-test of a − b over matched seeds: t = mean / (s / √n), n − 1 degrees of
    freedom, two-sided p = 2 · P(T > |t|)."""
    differences = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = differences.size
    if n < 2:
        mean = float(differences.mean()) if n else math.nan
        return PairedComparison(n, mean, math.nan, math.nan, math.nan)
    mean = float(differences.mean())
    standard_error = sample_std(differences) / math.sqrt(n)
    if standard_error == 0:
        p_value = 1.0 if mean == 0 else 0.0
        return PairedComparison(n, mean, mean, mean, p_value)
    t = mean / standard_error
    half = t_multiplier(n, confidence) * standard_error
    p_value = float(2 * stats.t.sf(abs(t), n - 1))
    return PairedComparison(n, mean, mean - half, mean + half, p_value)
