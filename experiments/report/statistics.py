"""Statistics over seeds: mean, sample std, a percentile-bootstrap interval, a paired t-test.

numpy and ``math`` only (no scipy): the Student-t tail comes from the regularized incomplete beta
function, evaluated by its continued fraction (Numerical Recipes, 3rd ed., §6.4).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    std: float
    """Sample standard deviation (ddof 1); nan for n < 2."""
    ci_low: float
    ci_high: float

    @property
    def ci_half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2


@lru_cache(maxsize=64)
def _resample_weights(n: int, resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct resamples as weights (how often each value is drawn, divided by n, so that
    ``weights @ values`` are the resampled means) and how many of the ``resamples`` draws each
    one is: with few seeds most draws repeat (n = 5 has at most 126 distinct ones)."""
    indices = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    counts = np.zeros((resamples, n), dtype=np.int64)
    np.add.at(counts, (np.arange(resamples)[:, None], indices), 1)
    distinct, multiplicity = np.unique(counts, axis=0, return_counts=True)
    return distinct / n, multiplicity


def _weighted_percentiles(
    means: np.ndarray, multiplicity: np.ndarray, percents: Sequence[float]
) -> np.ndarray:
    """numpy's linear-interpolation percentiles of each row of ``means`` with every column
    repeated ``multiplicity`` times (the full list of resampled means, without building it)."""
    order = np.argsort(means, axis=1)
    ordered = np.take_along_axis(means, order, axis=1)
    ends = np.cumsum(multiplicity[order], axis=1)
    total = int(multiplicity.sum())
    rows = np.arange(means.shape[0])
    result = []
    for percent in percents:
        position = (total - 1) * percent / 100
        below = math.floor(position)
        above = min(below + 1, total - 1)
        low = ordered[rows, (ends <= below).sum(axis=1)]
        high = ordered[rows, (ends <= above).sum(axis=1)]
        result.append(low + (high - low) * (position - below))
    return np.array(result)


def bootstrap_cis(
    samples: Sequence[Sequence[float]],
    confidence: float = CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> list[tuple[float, float]]:
    """Percentile bootstrap interval of the mean of each sample: ``resamples`` draws of n values
    with replacement — the index matrix ``default_rng(seed).integers(0, n, (resamples, n))`` —
    and the (1 ± confidence)/2 percentiles (numpy's linear interpolation) of the resampled
    means. Deterministic: a sample always gets the same interval, whatever else is computed.
    Samples of equal size share one set of draws and one matrix product."""
    tail = (1 - confidence) / 2 * 100
    intervals: list[tuple[float, float]] = [(math.nan, math.nan)] * len(samples)
    by_size: dict[int, list[int]] = {}
    data = [np.asarray(sample, dtype=float) for sample in samples]
    for index, values in enumerate(data):
        if values.size == 1:
            intervals[index] = (float(values[0]), float(values[0]))
        elif values.size > 1:
            by_size.setdefault(values.size, []).append(index)
    for n, indices in by_size.items():
        weights, multiplicity = _resample_weights(n, resamples, seed)
        for start in range(0, len(indices), 256):
            chunk = indices[start : start + 256]
            means = np.stack([data[i] for i in chunk]) @ weights.T
            lows, highs = _weighted_percentiles(means, multiplicity, (tail, 100 - tail))
            for i, low, high in zip(chunk, lows, highs, strict=True):
                intervals[i] = (float(low), float(high))
    return intervals


def bootstrap_ci(values: Sequence[float], **options: float) -> tuple[float, float]:
    """``bootstrap_cis`` of one sample."""
    return bootstrap_cis([values], **options)[0]


def summarize_many(samples: Sequence[Sequence[float]]) -> list[Summary]:
    """n, mean, sample std and bootstrap interval of each sample."""
    summaries = []
    for values, (low, high) in zip(samples, bootstrap_cis(samples), strict=True):
        data = np.asarray(values, dtype=float)
        if data.size == 0:
            summaries.append(Summary(0, math.nan, math.nan, math.nan, math.nan))
            continue
        std = float(data.std(ddof=1)) if data.size > 1 else math.nan
        summaries.append(Summary(int(data.size), float(data.mean()), std, low, high))
    return summaries


def summarize(values: Sequence[float]) -> Summary:
    return summarize_many([values])[0]


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        for aa in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1 + aa * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < eps:
            break
    return h


def regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1 - math.exp(log_front) * _beta_continued_fraction(b, a, 1 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| ≥ |t|) for Student's t with ``df`` degrees of freedom: I_{df/(df+t²)}(df/2, 1/2)."""
    if math.isinf(t):
        return 0.0
    return regularized_incomplete_beta(df / 2, 0.5, df / (df + t * t))


def t_quantile(confidence: float, df: float) -> float:
    """The t with P(|T| ≤ t) = confidence (bisection on the two-sided tail)."""
    low, high = 0.0, 1e7
    for _ in range(200):
        middle = (low + high) / 2
        if t_two_sided_p(middle, df) > 1 - confidence:
            low = middle
        else:
            high = middle
    return (low + high) / 2


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
    """Paired t-test of a − b over matched seeds."""
    differences = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = differences.size
    if n < 2:
        mean = float(differences.mean()) if n else math.nan
        return PairedComparison(n, mean, math.nan, math.nan, math.nan)
    mean = float(differences.mean())
    standard_error = float(differences.std(ddof=1)) / math.sqrt(n)
    if standard_error == 0:
        p_value = 1.0 if mean == 0 else 0.0
        return PairedComparison(n, mean, mean, mean, p_value)
    t = mean / standard_error
    half = t_quantile(confidence, n - 1) * standard_error
    return PairedComparison(n, mean, mean - half, mean + half, t_two_sided_p(t, n - 1))
