"""The robustness claim of RAdam (Liu et al., ICLR 2020, Fig. 6): "RAdam's accuracy varies less
across learning rates than Adam's", as a statistic, a test and a verdict.

Statistic: an optimizer's **spread** = max − min, over the learning rates both sides ran, of the
per-lr mean over seeds of the metric. Fig. 6 shows test accuracy against lr on the grid
{0.1, 0.03, 0.01, 0.003}, and the claim is read off it as the height of each curve's range: the
range is that reading, in the metric's own units (a standard deviation over 4 lrs would
down-weight exactly the lr where one optimizer falls apart, which is what the figure shows).
Only the lrs both sides ran count, so neither is judged on a grid the other never tried; where
they share fewer than two (a tuner's continuous lrs), both are pooled into half-decade bins of
the lr first and the bins both reached count.

A diverged run has no final metric, yet divergence is the worst sensitivity there is: it counts
as the worst finished value of the comparison (both sides, every lr) — a lower bound on its harm,
so a diverging optimizer's spread can only grow. Failed and unfinished runs are left out.

Test: Δ = spread(worse side) − spread(better side), > 0 favouring the claim; a bootstrap over
seeds (each optimizer × lr resampled with replacement, 1999 resamples, a fixed generator seed so
the same runs give the same verdict) gives the percentile 95% interval of Δ and the two-sided
p = 2 · (1 + min(#{Δ* ≤ 0}, #{Δ* ≥ 0})) / (1 + 1999), capped at 1 (Davison & Hinkley 1997,
§4.4). With 3 seeds per lr the bootstrap is coarse (it resamples three values), so the verdict
asks for at least ``verdicts.MIN_SEEDS`` seeds in every optimizer × lr and uses the claims' rule
(``verdicts.claim_verdict``): ``holds`` / ``reversed`` at p < 0.05, ``not shown`` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from experiments.metric_direction import metric_mode
from experiments.report.cells import Cell
from experiments.report.grouping import Group, canonical
from experiments.report.reference import Claim
from experiments.report.statistics import PairedComparison
from experiments.report.verdicts import MIN_SEEDS, ClaimVerdict, claim_verdict

LR_KEY = "optimizer.lr"
RESAMPLES = 1999
GENERATOR_SEED = 0

Points = dict[float, list[float | None]]
"""lr → one value per seed; None for a diverged seed (replaced by the comparison's worst)."""


def lr_of(group: Group) -> float | None:
    """The group's learning rate when it spelled ``optimizer.lr`` with a number."""
    try:
        return float(canonical(group.overrides[LR_KEY]))
    except (KeyError, ValueError):
        return None


def points(groups: Sequence[Group], metric: str, statistic: str) -> Points:
    """lr → the metric of each finished seed and None for each diverged one, over ``groups``."""
    found: Points = {}
    for group in groups:
        lr = lr_of(group)
        if lr is None:
            continue
        values = group.values(metric, statistic)
        found.setdefault(lr, []).extend(values.values())
        found[lr].extend([None] * group.count("diverged"))
    return {lr: values for lr, values in sorted(found.items()) if values}


def binned(found: Points) -> Points:
    """The values pooled into half-decade bins of the lr (centres 10^(k/2)), for lrs a tuner
    drew from a continuous range: the spread is then taken over the bins both sides reached."""
    pooled: Points = {}
    for lr, values in found.items():
        centre = float(10 ** (round(2 * math.log10(lr)) / 2)) if lr > 0 else lr
        pooled.setdefault(centre, []).extend(values)
    return dict(sorted(pooled.items()))


def spread(means: Sequence[float]) -> float:
    """max − min of the per-lr means (nan for fewer than two lrs)."""
    return float(max(means) - min(means)) if len(means) > 1 else math.nan


@dataclass(frozen=True)
class SpreadTest:
    better: float
    """The better side's spread."""
    worse: float
    lrs: tuple[float, ...]
    comparison: PairedComparison
    """Δ = worse − better with its bootstrap interval and p; ``n`` is the fewest seeds of any
    optimizer × lr."""
    diverged: tuple[int, int]
    """Diverged runs counted (better side, worse side)."""
    binned: bool = False
    """The lrs are half-decade bins (``binned``)."""


def _filled(points_: Points, lrs: Sequence[float], worst: float) -> list[np.ndarray]:
    return [np.array([worst if v is None else v for v in points_[lr]], dtype=float) for lr in lrs]


def spread_test(better: Points, worse: Points, metric: str) -> SpreadTest | None:
    """The test above; None when the two sides share fewer than two lrs or no finished run."""
    lrs = sorted(set(better) & set(worse))
    finished = [v for side in (better, worse) for lr in lrs for v in side[lr] if v is not None]
    if len(lrs) < 2 or not finished:
        return None
    worst = min(finished) if metric_mode(metric) == "max" else max(finished)
    sides = [_filled(better, lrs, worst), _filled(worse, lrs, worst)]
    observed = [spread([float(cell.mean()) for cell in side]) for side in sides]
    generator = np.random.default_rng(GENERATOR_SEED)
    resampled = []
    for side in sides:
        means = np.stack(
            [
                cell[generator.integers(0, cell.size, (RESAMPLES, cell.size))].mean(1)
                for cell in side
            ]
        )
        resampled.append(means.max(0) - means.min(0))
    delta = resampled[1] - resampled[0]
    far = min(int((delta <= 0).sum()), int((delta >= 0).sum()))
    p_value = min(1.0, 2 * (1 + far) / (1 + RESAMPLES))
    low, high = np.percentile(delta, [2.5, 97.5])
    n = min(cell.size for side in sides for cell in side)
    comparison = PairedComparison(n, observed[1] - observed[0], float(low), float(high), p_value)
    diverged = tuple(sum(v is None for lr in lrs for v in side[lr]) for side in (better, worse))
    return SpreadTest(observed[0], observed[1], tuple(lrs), comparison, diverged)


@dataclass
class RobustnessResult:
    """One robustness claim tested on our runs: a row of a claims table."""

    claim: Claim
    metric: str
    statistic: str
    test: SpreadTest | None
    verdict: ClaimVerdict
    better_runs: list[str] = field(default_factory=list)
    worse_runs: list[str] = field(default_factory=list)

    @property
    def comparison(self) -> PairedComparison:
        if self.test is None:
            return PairedComparison(0, math.nan, math.nan, math.nan, math.nan)
        return self.test.comparison


def robustness_verdict(test: SpreadTest | None) -> ClaimVerdict:
    """The claims' rule on Δ, with the spreads in the reason."""
    if test is None:
        return ClaimVerdict("not shown", "fewer than 2 lrs both sides ran, or no finished run")
    verdict = claim_verdict(test.comparison)
    lrs = ", ".join(f"{lr:g}" for lr in test.lrs)
    over = "lr bins centred at" if test.binned else "lr"
    reason = f"spreads {test.better:.3g} vs {test.worse:.3g} over {over} {{{lrs}}}"
    if any(test.diverged):
        reason += f"; diverged runs counted as the worst value: {test.diverged[0]} vs "
        reason += f"{test.diverged[1]}"
    if test.comparison.n < MIN_SEEDS:
        reason += f"; {test.comparison.n} seeds at some lr (need ≥ {MIN_SEEDS})"
    return ClaimVerdict(verdict.label, f"{verdict.reason}; {reason}")


def robustness_result(
    claim: Claim,
    better: Sequence[Group],
    worse: Sequence[Group],
    metric: str,
    statistic: str,
) -> RobustnessResult:
    """The claim on the lr grids ``better`` and ``worse`` (each a list of one optimizer's
    settings differing in ``optimizer.lr``)."""
    sides = points(better, metric, statistic), points(worse, metric, statistic)
    test = spread_test(*sides, metric)
    if test is None:  # a tuner's continuous lrs rarely coincide
        test = spread_test(binned(sides[0]), binned(sides[1]), metric)
        test = None if test is None else replace(test, binned=True)
    names = [
        [run.name for group in side for run in group.sorted_runs()] for side in (better, worse)
    ]
    return RobustnessResult(
        claim, metric, statistic, test, robustness_verdict(test), names[0], names[1]
    )


ADAM_PRESETS = ("adam", "adamw", "adamw_radam_paper", "adam_eps", "torch_adamw")
"""The presets that are the paper's "Adam" side (configs/optimizer/); RAdam's are ``radam*``."""


def comparable(groups: Mapping[str, Sequence[Group]]) -> list[tuple[str, str]]:
    """(RAdam-like, Adam-like) optimizer presets of one sweep × task that both ran ≥ 2 lrs:
    the pairs the robustness claim is tested on outside a paper table."""
    swept = [name for name, side in groups.items() if len({lr_of(g) for g in side} - {None}) > 1]
    radams = [name for name in swept if name.startswith("radam")]
    adams = [name for name in swept if name in ADAM_PRESETS]
    return [(radam, adam) for radam in radams for adam in adams]


def reference_robustness(
    robustness: Sequence[Claim], cells: Mapping[str, Cell]
) -> list[RobustnessResult]:
    """A reference file's ``lr_robustness`` claims on its cells' lr grids (each side's
    candidates), on the better side's metric and statistic."""
    results = []
    for claim in robustness:
        better, worse = cells[claim.better], cells[claim.worse]
        metric, statistic = better.entry.metric, better.entry.statistic
        results.append(
            robustness_result(claim, better.candidates, worse.candidates, metric, statistic)
        )
    return results
