"""Reddi et al. (2018)'s online linear problems and the optimizers compared on them (the
definitions shared by ``counterexample`` and its figure; the module docstring of
``experiments.analyses.counterexample`` explains the two instances)."""

from __future__ import annotations

from dataclasses import dataclass

OPTIMIZER_NAMES = ("SGD", "Adam", "AMSGrad", "AdaBound", "AMSBound")


@dataclass(frozen=True)
class OnlineLinearProblem:
    """f_t(x) = g_t·x on [−1, 1] with g_t = big when t mod period = 1, small otherwise."""

    name: str
    big: float
    small: float
    period: int
    betas: tuple[float, float]
    alpha: float
    sgd_alpha: float

    def gradient(self, t: int) -> float:
        return self.big if t % self.period == 1 else self.small

    @property
    def regret_rate_at_plus_one(self) -> float:
        """Limit of R_t/t for a player stuck at x = +1: 2·(Σ of a period's g)/period."""
        return 2.0 * (self.big + (self.period - 1) * self.small) / self.period

    @property
    def title(self) -> str:
        return (
            f"g = {self.big:g} every {self.period} steps, {self.small:g} otherwise; "
            f"β = ({self.betas[0]:g}, {self.betas[1]:.3g}), α = {self.alpha:g}, "
            f"SGD α = final_lr = {self.sgd_alpha:g}"
        )


THEOREM1 = OnlineLinearProblem("theorem1", 3.0, -1.0, 3, (0.0, 1.0 / (1.0 + 3.0**2)), 0.1, 0.1)
SYNTHETIC = OnlineLinearProblem("synthetic", 1010.0, -10.0, 101, (0.9, 0.99), 0.5, 0.02)
PROBLEMS = (THEOREM1, SYNTHETIC)
