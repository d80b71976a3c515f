"""The variance analysis against RAdam's closed forms (docs/papers.md §1, "Variance simulation")."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from experiments.analyses import variance
from experiments.analyses.variance import (
    rectification,
    rho,
    rho_inf,
    simulate,
    variance_exact,
    variance_first_order,
)
from experiments.analyses.variance_plot import coinciding_mus

BETA2 = 0.999


def test_rho_matches_the_values_in_the_paper_notes() -> None:
    assert rho(1, BETA2) == pytest.approx(1.0, abs=1e-9)
    assert rho(4, BETA2) == pytest.approx(3.998, abs=1e-3)
    assert rho(5, BETA2) == pytest.approx(4.996, abs=1e-3)
    assert rho(6, BETA2) == pytest.approx(5.994, abs=1e-3)
    assert rho_inf(BETA2) == pytest.approx(1999.0)
    late = rho(np.array([10_000, 100_000]), BETA2)
    assert np.all(late < 1999.0) and late[-1] == pytest.approx(1999.0)


def test_rectification_is_undefined_up_to_rho_four_and_tends_to_one() -> None:
    assert math.isnan(rectification(4, BETA2))  # ρ_4 ≈ 3.998
    assert rectification(100_000, BETA2) == pytest.approx(1.0)
    # r_5 written out from ρ_5 = ρ∞ − 10β2⁵/(1−β2⁵) and Eq. 6.
    rho_5 = 1999.0 - 10 * BETA2**5 / (1 - BETA2**5)
    expected = math.sqrt((rho_5 - 4) * (rho_5 - 2) * 1999 / (1995 * 1997 * rho_5))
    assert rectification(5, BETA2) == pytest.approx(expected, rel=1e-12)
    steps = np.array([[5, 6], [100, 6000]])
    assert np.asarray(rectification(steps, BETA2)).shape == (2, 2)


def test_eq2_equals_the_gamma_function_form_of_the_scale_inverse_chi2_moments() -> None:
    # For X ~ χ²_ρ: E[ρ/X] = ρ/(ρ−2) and E[√(ρ/X)] = √(ρ/2)·Γ((ρ−1)/2)/Γ(ρ/2).
    for value in (4.5, 5.0, 10.0, 57.3, 300.0):
        mean = math.sqrt(value / 2) * math.exp(
            math.lgamma((value - 1) / 2) - math.lgamma(value / 2)
        )
        assert variance_exact(value) == pytest.approx(value / (value - 2) - mean**2, rel=1e-9)
    assert variance_exact(10.0, sigma2=4.0) == pytest.approx(variance_exact(10.0) / 4.0)


def test_eq2_falls_about_250_fold_from_rho_5_to_rho_500() -> None:
    assert 200 < variance_exact(5.0) / variance_exact(500.0) < 300


def test_eq5_is_within_5_percent_of_eq2_only_for_large_rho() -> None:
    large = np.linspace(50.0, 1999.0, 200)
    assert np.all(np.abs(variance_first_order(large) / variance_exact(large) - 1) < 0.05)
    assert variance_first_order(5.0) / variance_exact(5.0) > 3.0
    assert math.isnan(variance_first_order(4.0))


def test_simulation_at_mu_zero_matches_eq2() -> None:
    """5000 trajectories × 6000 steps, the paper's setting (≈1 s vectorised)."""
    var_psi, _ = simulate(0.0, trajectories=5000, steps=6000, beta2=BETA2, seed=0)
    for t in (10, 100, 1000, 6000):
        expected = variance_exact(rho(t, BETA2))
        assert var_psi[t - 1] == pytest.approx(expected, rel=0.15), t


def test_rectified_variance_is_r_squared_times_the_plain_one() -> None:
    steps = 40
    var_psi, var_rect = simulate(0.3, trajectories=200, steps=steps, beta2=BETA2, seed=1)
    r = rectification(np.arange(1, steps + 1), BETA2)
    assert np.all(np.isnan(var_rect[:4])) and not np.any(np.isnan(var_rect[4:]))
    np.testing.assert_allclose(var_rect[4:], r[4:] ** 2 * var_psi[4:], rtol=1e-10)


def test_large_mean_shrinks_the_variance() -> None:
    small, _ = simulate(0.0, trajectories=500, steps=200, beta2=BETA2, seed=2)
    large, _ = simulate(10.0, trajectories=500, steps=200, beta2=BETA2, seed=2)
    assert np.all(large[4:] < small[4:] / 100)


def test_command_writes_figure_and_tables(tmp_path) -> None:
    variance.main(["--trajectories", "50", "--steps", "30", "--mus", "0,1", "--out", str(tmp_path)])
    for name in ("variance.png", "variance.pdf", "variance.csv", "variance_analytic.csv"):
        assert (tmp_path / name).stat().st_size > 0, name
    table = pd.read_csv(tmp_path / "variance.csv")
    assert sorted(table["mu"].unique()) == [0.0, 1.0]
    assert len(table) == 2 * 30
    analytic = pd.read_csv(tmp_path / "variance_analytic.csv")
    assert analytic["t"].min() == 5 and analytic["t"].max() == 30


def test_curves_the_eye_would_take_for_one_are_named() -> None:
    t = np.arange(1, 6)
    rows = [
        pd.DataFrame({"mu": mu, "t": t, "var_psi": base * (1 + wiggle * t)})
        for mu, base, wiggle in [
            (0.0, 1.0, 0.0),
            (0.01, 1.0, 0.003),
            (1.0, 0.5, 0.0),
            (10.0, 1.0, 0.01),
        ]  # fmt: skip
    ]
    assert coinciding_mus(pd.concat(rows)) == [[0.0, 0.01]]  # 10 drifts 10% away by t = 5
