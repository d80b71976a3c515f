"""Verdicts: does a cell match the paper's number, does a pairwise claim hold?

Cell: ``matches`` when |ours − paper| ≤ max(half-width of our 95% bootstrap CI, the paper's ±,
the entry's tolerance); otherwise ``higher`` or ``lower`` (numerically, whatever the metric's
direction) by |ours − paper|; ``n<3`` when fewer than 3 seeds finished (mean and difference are
still shown). Claim: a paired t-test over the seeds both sides finished; ``holds`` when the
difference favours the claimed side with p < 0.05, ``reversed`` when it favours the other side
with p < 0.05, ``not shown`` otherwise (also with fewer than 3 paired seeds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from experiments.report.statistics import PairedComparison, Summary

MIN_SEEDS = 3
ALPHA = 0.05


@dataclass(frozen=True)
class Verdict:
    label: str
    """matches | higher | lower | n<3 | no runs | no finished runs | metric not logged |
    no paper value."""
    difference: float | None = None
    """Ours − paper."""

    def text(self, decimals: int = 2) -> str:
        if self.label in ("higher", "lower") and self.difference is not None:
            return f"{self.label} by {abs(self.difference):.{decimals}f}"
        return self.label


def cell_verdict(
    summary: Summary, paper: float, paper_pm: float | None, tolerance: float
) -> Verdict:
    """The verdict of one cell whose runs gave ``summary`` (n ≥ 1)."""
    difference = summary.mean - paper
    if summary.n < MIN_SEEDS:
        return Verdict("n<3", difference)
    allowance = max(summary.ci_half_width, paper_pm or 0.0, tolerance)
    if abs(difference) <= allowance:
        return Verdict("matches", difference)
    return Verdict("higher" if difference > 0 else "lower", difference)


@dataclass(frozen=True)
class ClaimVerdict:
    label: str
    """holds | not shown | reversed."""
    reason: str


def claim_verdict(comparison: PairedComparison) -> ClaimVerdict:
    """``comparison`` is of (claimed-better − claimed-worse), oriented so that > 0 favours the
    claimed-better side."""
    if comparison.n < MIN_SEEDS:
        return ClaimVerdict("not shown", f"{comparison.n} paired seeds (need ≥ {MIN_SEEDS})")
    p = comparison.p_value
    if math.isnan(p) or p >= ALPHA:
        return ClaimVerdict("not shown", f"p = {p:.2g} ≥ {ALPHA}")
    if comparison.mean > 0:
        return ClaimVerdict("holds", f"p = {p:.2g}")
    return ClaimVerdict("reversed", f"p = {p:.2g}")
