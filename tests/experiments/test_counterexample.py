"""Reddi et al.'s counterexample through the project's optimizers (docs/papers.md §1, AdaBound)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.analyses import counterexample
from experiments.analyses.counterexample import run
from experiments.analyses.counterexample_problem import OPTIMIZER_NAMES, SYNTHETIC, THEOREM1

# x = +1 loses C − 2 per period of three steps against x = −1 on each side of the gap:
# average regret (C·1 − 1 − 1) − (−C + 1 + 1) = 2(C − 2) per 3 steps → 2/3 for C = 3.
ADAM_LIMIT_REGRET = 2.0 * (3.0 - 2.0) / 3.0


def test_problem_gradients_follow_the_definition() -> None:
    assert [THEOREM1.gradient(t) for t in range(1, 7)] == [3, -1, -1, 3, -1, -1]
    assert THEOREM1.betas == (0.0, pytest.approx(0.1))
    assert SYNTHETIC.gradient(1) == 1010 and SYNTHETIC.gradient(102) == 1010
    assert SYNTHETIC.gradient(2) == -10 and SYNTHETIC.gradient(101) == -10
    # Each period's gradients sum to a positive number, so x = −1 is the best fixed point.
    assert sum(THEOREM1.gradient(t) for t in range(1, 4)) > 0
    assert sum(SYNTHETIC.gradient(t) for t in range(1, 102)) > 0
    assert THEOREM1.regret_rate_at_plus_one == pytest.approx(ADAM_LIMIT_REGRET)
    assert SYNTHETIC.regret_rate_at_plus_one == pytest.approx(2 * 10 / 101)


def test_average_regret_matches_the_definition_with_a_brute_force_comparator() -> None:
    steps = 40
    iterates, average_regret = run(THEOREM1, "SGD", steps=steps, x0=0.5)
    gradients = np.array([THEOREM1.gradient(t) for t in range(1, steps + 1)])
    fixed_points = np.linspace(-1.0, 1.0, 2001)
    for t in (1, 2, 3, 10, steps):
        played = float(np.sum(gradients[:t] * iterates[:t]))
        best = float(np.min(np.sum(gradients[:t, None] * fixed_points[None, :], axis=0)))
        assert average_regret[t - 1] == pytest.approx((played - best) / t, abs=1e-12)


def _final_iterates(steps: int) -> dict[str, tuple[float, float]]:
    results = {}
    for name in OPTIMIZER_NAMES:
        iterates, average_regret = run(THEOREM1, name, steps)
        results[name] = (iterates[-1], average_regret[-1])
    return results


def _assert_only_adam_fails(results: dict[str, tuple[float, float]]) -> None:
    assert results["Adam"][0] > 0.99
    for name in ("SGD", "AMSGrad", "AdaBound", "AMSBound"):
        assert results[name][0] < -0.99, name


@pytest.mark.slow
def test_only_adam_drifts_to_the_wrong_end_within_10000_steps() -> None:
    """Shorter than the paper's horizon but past AdaBound's return from +1 (near t ≈ 5,000)."""
    results = _final_iterates(10_000)
    _assert_only_adam_fails(results)
    assert results["Adam"][1] > 0.9 * ADAM_LIMIT_REGRET


@pytest.mark.slow
def test_only_adam_drifts_to_the_wrong_end_after_30000_steps() -> None:
    results = _final_iterates(30_000)
    _assert_only_adam_fails(results)
    assert results["Adam"][1] == pytest.approx(ADAM_LIMIT_REGRET, rel=0.05)
    for name in ("SGD", "AMSGrad", "AMSBound"):
        assert results[name][1] < 0.05 * ADAM_LIMIT_REGRET, name


def test_command_writes_figure_and_table(tmp_path) -> None:
    counterexample.main(["--steps", "120", "--rows", "40", "--out", str(tmp_path)])
    for name in ("counterexample.png", "counterexample.pdf", "counterexample.csv"):
        assert (tmp_path / name).stat().st_size > 0, name
    table = pd.read_csv(tmp_path / "counterexample.csv")
    assert set(table["problem"]) == {"theorem1", "synthetic"}
    assert set(table["optimizer"]) == set(OPTIMIZER_NAMES)
    assert table["t"].max() == 120 and table["x_t"].between(-1, 1).all()
