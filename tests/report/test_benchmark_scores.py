"""AlgoPerf's performance profile, integrated score and speed-ups against a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.report.benchmark_scores import (
    geometric_mean_speedup,
    integrated_score,
    median_and_spread,
    performance_profile,
)

INF = math.inf
# 3 optimizers × 4 tasks: A misses t3, B ties A on t2, nobody reaches t4.
TIMES = {
    "A": {"t1": 100.0, "t2": 200.0, "t3": INF, "t4": INF},
    "B": {"t1": 150.0, "t2": 200.0, "t3": 300.0, "t4": INF},
    "C": {"t1": 500.0, "t2": 300.0, "t3": 450.0, "t4": INF},
}
# Ratios to the fastest per task (t1: 100, t2: 200, t3: 300, t4: nobody, a miss for all):
#   A: 1,   1,   inf, inf
#   B: 1.5, 1,   1,   inf
#   C: 5,   1.5, 1.5, inf
TAUS = [1.0, 1.5, 2.0, 4.0, 5.0]
# rho(tau) = tasks with ratio <= tau, over 4:
#   A: 2/4 at every tau
#   B: tau=1: t2, t3 -> 0.5; from 1.5 on t1 joins -> 0.75
#   C: tau=1: none -> 0; 1.5..4: t2, t3 -> 0.5; tau=5: t1 joins -> 0.75
PROFILE = {
    "A": [0.5, 0.5, 0.5, 0.5, 0.5],
    "B": [0.5, 0.75, 0.75, 0.75, 0.75],
    "C": [0.0, 0.5, 0.5, 0.5, 0.75],
}
# Integral over [1, 4] / 3: each task adds max(0, 4 - r) / 4 tasks / 3:
#   A: (3 + 3 + 0 + 0) / 12 = 0.5
#   B: (2.5 + 3 + 3 + 0) / 12 = 8.5 / 12
#   C: (0 + 2.5 + 2.5 + 0) / 12 = 5 / 12      (C's t1 ratio 5 is beyond tau_max)
SCORES = {"A": 0.5, "B": 8.5 / 12, "C": 5 / 12}


def test_profile_matches_the_hand_computation() -> None:
    assert performance_profile(TIMES, TAUS) == PROFILE


def test_integrated_score_matches_the_hand_computation() -> None:
    scores = integrated_score(TIMES)
    assert scores == pytest.approx(SCORES, abs=1e-12)
    assert all(0.0 <= value <= 1.0 for value in scores.values())


def test_exact_integral_is_the_limit_of_algoperfs_trapezoid_grid() -> None:
    """AlgoPerf integrates rho sampled on a linspace grid with np.trapz and divides by the
    range; a fine grid approaches the exact step integral, a 100-point grid is close to it."""
    for points, tolerance in ((100, 0.02), (30001, 1e-4)):
        taus = np.linspace(1.0, 4.0, points)
        profile = performance_profile(TIMES, list(taus))
        for optimizer, rho in profile.items():
            trapezoid = np.trapezoid(rho, taus) / 3.0
            assert trapezoid == pytest.approx(SCORES[optimizer], abs=tolerance)


def test_geometric_mean_speedup_leaves_out_tasks_either_side_missed() -> None:
    speedup = geometric_mean_speedup(TIMES, baseline="A")
    # B: t1 100/150, t2 200/200 (t3: A missed; t4: both missed) -> sqrt(2/3)
    # C: t1 100/500, t2 200/300 -> sqrt(0.2 * 2/3)
    assert speedup["A"] == pytest.approx(1.0)
    assert speedup["B"] == pytest.approx(math.sqrt(2 / 3))
    assert speedup["C"] == pytest.approx(math.sqrt(0.2 * 2 / 3))
    only_misses = {"A": {"t": INF}, "B": {"t": 5.0}}
    assert math.isnan(geometric_mean_speedup(only_misses, baseline="A")["B"])


def test_median_and_spread_with_a_miss() -> None:
    assert median_and_spread([30.0, 10.0, INF]) == (30.0, 10.0, INF)
    assert median_and_spread([10.0, 20.0]) == (15.0, 10.0, 20.0)


def test_a_table_with_a_missing_task_or_an_unknown_baseline_is_refused() -> None:
    with pytest.raises(ValueError, match="has tasks"):
        integrated_score({"A": {"t1": 1.0}, "B": {"t2": 1.0}})
    with pytest.raises(ValueError, match="baseline"):
        geometric_mean_speedup(TIMES, baseline="Z")
