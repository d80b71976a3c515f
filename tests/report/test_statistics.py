"""Mean, std, bootstrap interval and paired t-test against hand computations and textbook
values of Student's t distribution."""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.report.statistics import (
    bootstrap_ci,
    bootstrap_cis,
    paired_comparison,
    summarize,
    t_quantile,
    t_two_sided_p,
)


def test_mean_and_sample_std_by_hand() -> None:
    summary = summarize([90.0, 91.0, 92.0])
    assert summary.n == 3
    assert summary.mean == pytest.approx(91.0)
    assert summary.std == pytest.approx(1.0)  # sqrt((1 + 0 + 1) / 2)
    single = summarize([5.0])
    assert (single.n, single.mean, single.ci_low, single.ci_high) == (1, 5.0, 5.0, 5.0)
    assert math.isnan(single.std)
    assert summarize([]).n == 0 and math.isnan(summarize([]).mean)


def test_bootstrap_of_two_values_is_their_range() -> None:
    # Resampled means of {a, b} are a (p 1/4), (a+b)/2 (p 1/2), b (p 1/4): the 2.5th and 97.5th
    # percentiles of 10,000 draws are a and b exactly.
    assert bootstrap_ci([3.0, 7.0]) == (3.0, 7.0)


def test_bootstrap_of_three_values_spans_the_extremes() -> None:
    # A resampled mean equals the minimum with probability 1/27 > 2.5%: the interval of
    # {90, 91, 92} is [90, 92].
    assert bootstrap_ci([90.0, 91.0, 92.0]) == (90.0, 92.0)


def _independent_bootstrap(values: list[float], seed: int = 0) -> np.ndarray:
    """The documented procedure written out directly: index matrix, means, percentiles."""
    data = np.asarray(values)
    indices = np.random.default_rng(seed).integers(0, len(data), size=(10_000, len(data)))
    return np.percentile(data[indices].mean(axis=1), [2.5, 97.5])


@pytest.mark.parametrize(
    "values",
    [
        [90.1, 91.3, 89.7, 92.4, 90.9],
        [0.31, 0.29, 0.35, 0.30],
        [1.5, 2.0, 7.0, 3.0, 3.0, 9.0, 1.0, 0.2, 4.0, 5.0, 6.0, 7.5, 8.0, 1.1],
    ],
)
def test_bootstrap_equals_the_documented_procedure_for_the_fixed_seed(values: list[float]) -> None:
    low, high = bootstrap_ci(values)
    expected = _independent_bootstrap(values)
    assert (low, high) == pytest.approx(tuple(expected), rel=1e-12)
    assert low <= float(np.mean(values)) <= high


def test_bootstrap_is_deterministic_and_independent_of_other_samples() -> None:
    sample = [1.0, 2.5, 2.0, 4.0, 3.5]
    alone = bootstrap_ci(sample)
    together = bootstrap_cis([[9.0, 8.0, 7.0, 6.0, 5.0], sample, [1.0, 2.0]])[1]
    assert alone == together == bootstrap_ci(sample)


def test_bootstrap_interval_shrinks_with_more_seeds() -> None:
    rng = np.random.default_rng(123)
    widths = []
    for n in (3, 10, 40):
        low, high = bootstrap_ci(list(91 + rng.normal(0, 0.5, size=n)))
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]


@pytest.mark.parametrize(
    ("t", "df", "p"),
    [(12.7062, 1, 0.05), (4.3027, 2, 0.05), (2.7764, 4, 0.05), (3.1693, 10, 0.01),
     (2.0423, 30, 0.05)],
)  # fmt: skip
def test_t_tail_matches_textbook_critical_values(t: float, df: int, p: float) -> None:
    assert t_two_sided_p(t, df) == pytest.approx(p, abs=2e-5)
    assert t_quantile(1 - p, df) == pytest.approx(t, abs=2e-4)


@pytest.mark.parametrize("t", [0.0, 0.5, 1.7, 4.914, 30.0])
def test_t_tail_with_two_degrees_of_freedom_has_a_closed_form(t: float) -> None:
    # Student's t with 2 degrees of freedom: P(|T| >= t) = 1 - t / sqrt(t^2 + 2).
    assert t_two_sided_p(t, 2) == pytest.approx(1 - t / math.sqrt(t * t + 2), rel=1e-9)


def test_paired_comparison_by_hand() -> None:
    # Differences 2.0, 1.5, 3.0: mean 13/6, sd sqrt(7/12), se sqrt(7/36), df 2.
    comparison = paired_comparison([90.0, 91.0, 92.0], [88.0, 89.5, 89.0])
    se = math.sqrt(7 / 36)
    t = (13 / 6) / se
    assert comparison.n == 3
    assert comparison.mean == pytest.approx(13 / 6)
    assert comparison.p_value == pytest.approx(1 - t / math.sqrt(t * t + 2), rel=1e-9)
    half = 4.302653 * se  # t_{0.975, 2}
    assert comparison.ci_low == pytest.approx(13 / 6 - half, rel=1e-5)
    assert comparison.ci_high == pytest.approx(13 / 6 + half, rel=1e-5)


def test_paired_comparison_edge_cases() -> None:
    identical = paired_comparison([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert identical.mean == 0 and identical.p_value == 1.0
    shifted = paired_comparison([2.0, 3.0, 4.0], [1.0, 2.0, 3.0])
    assert shifted.mean == 1.0 and shifted.p_value == 0.0
    single = paired_comparison([2.0], [1.0])
    assert single.n == 1 and math.isnan(single.p_value)
