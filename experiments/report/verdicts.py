"""Verdicts: does a cell match the paper's number, does a pairwise claim hold?

Cell, with the allowance = max(the paper's ±, the entry's tolerance) and our 95% t-interval
over seeds: ``matches`` when |ours − paper| and the interval's half-width are both within the
allowance (we measured the number precisely enough to say it is the paper's); ``inconclusive``
when the paper's number lies in our interval but the interval is wider than the allowance (the
seeds cannot tell; the verdict says how many seeds of the same spread would narrow it enough);
otherwise ``higher`` or ``lower`` (numerically, whatever the metric's direction) by
|ours − paper|: the paper's number is outside our interval and farther than the allowance.
``n<3`` when fewer than 3 seeds finished (mean and difference are still shown). With 3 seeds
t(0.975, 2) = 4.30, so the interval is ±2.5 std: many cells are ``inconclusive``, which is the
truth about 3 seeds. Claim: a paired t-test over the seeds both sides finished; ``holds`` when the
difference favours the claimed side with p < 0.05, ``reversed`` when it favours the other side
with p < 0.05, ``not shown`` otherwise (also with fewer than 3 paired seeds). The robustness
claim (RAdam Fig. 6, ``lr_robustness.py``) takes the same rule on the difference of the spreads
across learning rates, its interval and p from a bootstrap over seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from experiments.report.statistics import PairedComparison, Summary, seeds_for_half_width

MIN_SEEDS = 3
ALPHA = 0.05


@dataclass(frozen=True)
class Verdict:
    label: str
    """matches | inconclusive | higher | lower | n<3 | no runs | no finished runs |
    metric not logged | no paper value."""
    difference: float | None = None
    """Ours − paper."""
    seeds_needed: int | None = None
    """``inconclusive``: the seeds whose interval would fit the allowance at our spread (None:
    more than ``statistics.MAX_SEEDS``, or the allowance is 0)."""

    def text(self, decimals: int = 2) -> str:
        if self.label in ("higher", "lower") and self.difference is not None:
            return f"{self.label} by {abs(self.difference):.{decimals}f}"
        if self.label == "inconclusive":
            more = f"≈ {self.seeds_needed}" if self.seeds_needed is not None else "many more"
            return f"inconclusive ({more} seeds)"
        return self.label


def cell_verdict(
    summary: Summary, paper: float, paper_pm: float | None, tolerance: float
) -> Verdict:
    """The verdict of one cell whose runs gave ``summary`` (n ≥ 1)."""
    difference = summary.mean - paper
    if summary.n < MIN_SEEDS:
        return Verdict("n<3", difference)
    allowance = max(paper_pm or 0.0, tolerance)
    half = summary.ci_half_width
    if abs(difference) <= allowance and half <= allowance:
        return Verdict("matches", difference)
    if abs(difference) <= half:
        needed = seeds_for_half_width(summary.std, allowance, at_least=summary.n + 1)
        return Verdict("inconclusive", difference, needed)
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
