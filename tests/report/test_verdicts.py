"""Cell and claim verdicts against hand-made numbers."""

from __future__ import annotations

import pytest

from experiments.report.statistics import PairedComparison, Summary
from experiments.report.verdicts import cell_verdict, claim_verdict


def summary(mean: float, n: int = 5, half: float = 0.1) -> Summary:
    return Summary(n, mean, 0.2, mean - half, mean + half)


@pytest.mark.parametrize(
    ("ours", "paper", "pm", "tolerance", "label", "difference"),
    [
        (91.2, 91.5, None, 0.5, "matches", -0.3),  # within the tolerance
        (91.2, 91.5, 0.4, 0.1, "matches", -0.3),  # within the paper's ±
        (91.2, 92.2, None, 0.1, "lower", -1.0),
        (93.0, 92.2, 0.5, 0.1, "higher", 0.8),
    ],
)
def test_cell_verdict(ours, paper, pm, tolerance, label, difference) -> None:
    verdict = cell_verdict(summary(ours), paper, pm, tolerance)
    assert verdict.label == label
    assert verdict.difference == pytest.approx(difference)


def test_a_wide_interval_is_inconclusive_and_few_seeds_say_so() -> None:
    wide = cell_verdict(Summary(3, 90.0, 1.0, 87.5, 92.5), 91.2, None, 0.1)
    assert wide.label == "inconclusive" and wide.seeds_needed == 387  # 1.9662 / √387 < 0.1
    hopeless = cell_verdict(Summary(3, 90.0, 1.0, 87.5, 92.5), 91.2, None, 0.01)
    assert hopeless.seeds_needed is None and hopeless.text() == "inconclusive (many more seeds)"
    assert cell_verdict(Summary(3, 90.0, 1.0, 87.5, 92.5), 91.2, None, 1.0).text() == (
        "inconclusive (≈ 7 seeds)"  # std 1 fits ±1 with 7 seeds
    )
    # The paper's number inside a narrow interval that fits the allowance: matches.
    assert cell_verdict(summary(91.0, half=0.3), 91.2, None, 0.3).label == "matches"
    # Outside the interval and beyond the allowance: a difference, however wide the interval.
    assert cell_verdict(summary(90.0, half=1.0), 91.2, None, 0.1).label == "lower"
    few = cell_verdict(summary(80.0, n=2), 91.2, None, 0.1)
    assert few.label == "n<3" and few.difference == pytest.approx(-11.2)
    assert cell_verdict(summary(93.0), 91.0, None, 0.1).text(2) == "higher by 2.00"


@pytest.mark.parametrize(
    ("mean", "p", "n", "label"),
    [(0.8, 0.01, 5, "holds"), (-0.8, 0.01, 5, "reversed"), (0.8, 0.2, 5, "not shown"),
     (0.8, 0.001, 2, "not shown")],
)  # fmt: skip
def test_claim_verdict(mean: float, p: float, n: int, label: str) -> None:
    verdict = claim_verdict(PairedComparison(n, mean, mean - 0.1, mean + 0.1, p))
    assert verdict.label == label
    if n < 3:
        assert "need ≥ 3" in verdict.reason
