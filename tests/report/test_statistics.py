"""Mean, sample std, Student's t-interval and the paired t-test against hand computations,
textbook values of Student's t distribution, and a coverage simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.report.statistics import (
    paired_comparison,
    seeds_for_half_width,
    summarize,
    t_multiplier,
)


def test_mean_sample_std_and_t_interval_by_hand() -> None:
    summary = summarize([90.0, 91.0, 92.0])
    assert summary.n == 3
    assert summary.mean == pytest.approx(91.0)
    assert summary.std == pytest.approx(1.0)  # sqrt((1 + 0 + 1) / 2)
    half = 4.302653 * 1.0 / math.sqrt(3)  # t(0.975, 2) · s / √n
    assert (summary.ci_low, summary.ci_high) == pytest.approx((91 - half, 91 + half), rel=1e-6)
    single = summarize([5.0])
    assert (single.n, single.mean) == (1, 5.0)
    assert math.isnan(single.std) and math.isnan(single.ci_low) and math.isnan(single.ci_high)
    assert summarize([]).n == 0 and math.isnan(summarize([]).mean)


@pytest.mark.parametrize(
    ("confidence", "df", "t"),
    [(0.95, 1, 12.7062), (0.95, 2, 4.3027), (0.95, 4, 2.7764), (0.99, 10, 3.1693),
     (0.95, 30, 2.0423)],
)  # fmt: skip
def test_t_quantiles_match_textbook_critical_values(confidence: float, df: int, t: float) -> None:
    assert t_multiplier(df + 1, confidence) == pytest.approx(t, abs=2e-4)


@pytest.mark.parametrize("n", [3, 5, 10])
def test_the_interval_covers_the_true_mean_95_percent_of_the_time(n: int) -> None:
    """4,000 samples of n normal values: the share of intervals holding the true mean is within
    1.5 points of 95% (a percentile bootstrap gives 75% at n = 3, 84% at 5, 91% at 10)."""
    rng = np.random.default_rng(2020 + n)
    draws = rng.normal(loc=91.0, scale=0.7, size=(4000, n))
    covered = [s.ci_low <= 91.0 <= s.ci_high for s in map(summarize, draws)]
    assert abs(100 * np.mean(covered) - 95.0) <= 1.5


def test_seeds_needed_for_a_half_width() -> None:
    # std 1, half-width 1: n = 6 gives 2.5706 / √6 = 1.049, n = 7 gives 2.4469 / √7 = 0.925.
    assert seeds_for_half_width(1.0, 1.0) == 7
    assert seeds_for_half_width(1.0, 1.0, at_least=9) == 9
    assert seeds_for_half_width(1.0, 0.0) is None and seeds_for_half_width(math.nan, 1) is None
    assert seeds_for_half_width(1.0, 1e-3) is None  # beyond MAX_SEEDS


@pytest.mark.parametrize("t", [0.0, 0.5, 1.7, 4.914, 30.0])
def test_paired_p_value_with_two_degrees_of_freedom_has_a_closed_form(t: float) -> None:
    # Student's t with 2 degrees of freedom: P(|T| >= t) = 1 - t / sqrt(t^2 + 2). Differences
    # d, d + 1, d + 2 have sd 1 and se 1/√3: mean d + 1 = t / √3 gives that t.
    d = t / math.sqrt(3) - 1
    comparison = paired_comparison([d, d + 1, d + 2], [0.0, 0.0, 0.0])
    assert comparison.p_value == pytest.approx(1 - t / math.sqrt(t * t + 2), rel=1e-9, abs=1e-12)


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
