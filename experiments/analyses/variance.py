"""Variance of Adam's adaptive learning rate, simulated and analytic (RAdam paper, Fig. 8 and 9).

With g_i ~ N(µ, 1) and v_t = (1−β2) Σ_{i≤t} β2^{t−i} g_i², the adaptive learning rate is
ψ_t = 1/√v̂_t with v̂_t = v_t / (1−β2^t). The simulation streams 5000 trajectories over 6000
steps (only the running v_t of each trajectory is kept) and records, per step, the sample
variance across trajectories of ψ_t and of the rectified r_t·ψ_t. At µ = 0 (σ² = 1) the paper
approximates ψ_t² by a Scale-inv-χ²(ρ_t, 1/σ²) variable: Eq. 2 is its exact variance, Eq. 5 the
first-order approximation.

Run: ``python -m experiments.analyses.variance [--trajectories 5000] [--steps 6000]
[--mus 0,0.001,0.01,0.1,1,10] [--seed 0] [--out results/analyses]``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analyses.variance_plot import plot_variance
from optimizers.radam import Rectification, rectification_at

# RAdam Algorithm 2 rectifies when ρ_t > 4 (the variance of ψ_t is intractable below).
PAPER_THRESHOLD = 4.0
# Steps simulated per block: bounds the memory to block × trajectories float64 values.
BLOCK_STEPS = 250


def _rectifications(t: int | np.ndarray, beta2: float) -> list[Rectification]:
    return [
        rectification_at(beta2, int(step), PAPER_THRESHOLD, strict=True) for step in np.ravel(t)
    ]


def _shaped(values: list[float], t: int | np.ndarray) -> float | np.ndarray:
    result = np.asarray(values, dtype=np.float64).reshape(np.shape(t))
    return result if result.ndim else float(result)


def rho_inf(beta2: float) -> float:
    """ρ∞ = 2/(1−β2) − 1, the limit of ρ_t (RAdam Algorithm 2)."""
    return rectification_at(beta2, 1, PAPER_THRESHOLD, strict=True).rho_inf


def rho(t: int | np.ndarray, beta2: float) -> float | np.ndarray:
    """ρ_t = ρ∞ − 2tβ2^t/(1−β2^t), the length of the approximated SMA; ρ_1 = 1."""
    return _shaped([item.rho_t for item in _rectifications(t, beta2)], t)


def rectification(t: int | np.ndarray, beta2: float) -> float | np.ndarray:
    """r_t = √((ρ_t−4)(ρ_t−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρ_t)) (RAdam Eq. 6); NaN where ρ_t ≤ 4.

    Both ρ_t and r_t come from ``optimizers.radam.rectification_at`` (the optimizer's own
    formula) with the paper's rule ρ_t > 4 rather than the code's ρ_t ≥ 5.
    """
    return _shaped(
        [np.nan if item.r_t is None else item.r_t for item in _rectifications(t, beta2)], t
    )


def _lgamma(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.lgamma, otypes=[float])(x)


def variance_exact(rho_value: float | np.ndarray, sigma2: float = 1.0) -> float | np.ndarray:
    """Var[ψ] for ψ² ~ Scale-inv-χ²(ρ, 1/σ²) (RAdam Eq. 2).

    Var[ψ] = τ²(ρ/(ρ−2) − ρ·2^{2ρ−5}/π · B((ρ−1)/2, (ρ−1)/2)²) with τ² = 1/σ². The second term
    is evaluated in log space (log B(a, a) = 2·lgamma(a) − lgamma(2a)) because 2^{2ρ−5} and
    B(·)² overflow and underflow separately for ρ in the thousands. The variance exists for
    ρ > 2 (NaN elsewhere); the paper treats ρ ≤ 4 as intractable because of Eq. 5.
    """
    rho_array = np.asarray(rho_value, dtype=np.float64)
    valid = rho_array > 2
    safe = np.where(valid, rho_array, 3.0)
    half = (safe - 1.0) / 2.0
    log_beta = 2.0 * _lgamma(half) - _lgamma(2.0 * half)
    log_mean_sq = np.log(safe) + (2.0 * safe - 5.0) * math.log(2.0) - math.log(math.pi)
    mean_sq = np.exp(log_mean_sq + 2.0 * log_beta)
    result = np.where(valid, (safe / (safe - 2.0) - mean_sq) / sigma2, np.nan)
    return result if result.ndim else float(result)


def variance_first_order(rho_value: float | np.ndarray, sigma2: float = 1.0) -> float | np.ndarray:
    """Var[ψ] ≈ ρ / (2(ρ−2)(ρ−4)σ²) (RAdam Eq. 5); NaN where ρ ≤ 4 (it diverges there)."""
    rho_array = np.asarray(rho_value, dtype=np.float64)
    valid = rho_array > 4
    safe = np.where(valid, rho_array, 5.0)
    result = np.where(valid, safe / (2.0 * (safe - 2.0) * (safe - 4.0) * sigma2), np.nan)
    return result if result.ndim else float(result)


def simulate(
    mu: float,
    trajectories: int,
    steps: int,
    beta2: float,
    seed: int,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Sample variances of ψ_t and r_t·ψ_t over ``trajectories`` runs, for t = 1..steps.

    Returns two float64 arrays of length ``steps`` (index t−1); the rectified one is NaN where
    ρ_t ≤ 4. Gradients are drawn block by block (``BLOCK_STEPS`` × trajectories), so memory does
    not grow with ``steps``. ``progress`` receives the number of steps done after each block.
    """
    rng = np.random.default_rng(seed)
    v = np.zeros(trajectories)
    var_psi = np.empty(steps)
    var_rect = np.empty(steps)
    for start in range(0, steps, BLOCK_STEPS):
        block = min(BLOCK_STEPS, steps - start)
        # One buffer per block: it holds g_t², then (overwritten row by row) v_t.
        moments = rng.standard_normal((block, trajectories))
        moments += mu
        np.square(moments, out=moments)
        for row in moments:
            v *= beta2
            v += (1.0 - beta2) * row
            row[:] = v
        t = np.arange(start + 1, start + block + 1)
        psi = 1.0 / np.sqrt(moments / (1.0 - beta2**t)[:, None])
        r = np.asarray(rectification(t, beta2))
        var_psi[start : start + block] = psi.var(axis=1, ddof=1)
        rectified = np.nan_to_num(r)[:, None] * psi
        var_rect[start : start + block] = np.where(
            np.isnan(r), np.nan, rectified.var(axis=1, ddof=1)
        )
        if progress is not None:
            progress(start + block)
    return var_psi, var_rect


def simulation_table(
    mus: Sequence[float], trajectories: int, steps: int, beta2: float, seed: int
) -> pd.DataFrame:
    """One row per (µ, t): ρ_t, r_t, Var[ψ_t], Var[r_t ψ_t]; prints progress per µ."""
    t = np.arange(1, steps + 1)
    rho_values = np.asarray(rho(t, beta2))
    r_values = np.asarray(rectification(t, beta2))
    frames = []
    for mu in mus:
        began = time.perf_counter()

        def report(done: int, mu: float = mu, began: float = began) -> None:
            if done % 2000 == 0 or done == steps:
                elapsed = time.perf_counter() - began
                print(f"  mu={mu:g}: step {done}/{steps} ({elapsed:.1f} s)", flush=True)

        var_psi, var_rect = simulate(mu, trajectories, steps, beta2, seed, progress=report)
        frames.append(
            pd.DataFrame(
                {
                    "mu": mu,
                    "t": t,
                    "rho_t": rho_values,
                    "r_t": r_values,
                    "var_psi": var_psi,
                    "var_rect_psi": var_rect,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def analytic_table(simulated: pd.DataFrame) -> pd.DataFrame:
    """At µ = 0 (σ² = 1): simulated Var[ψ_t], Eq. 2 and Eq. 5 at ρ_t, for t with ρ_t > 4."""
    at_zero = simulated[(simulated["mu"] == 0.0) & (simulated["rho_t"] > 4)]
    table = at_zero[["t", "rho_t", "var_psi"]].rename(columns={"var_psi": "var_psi_simulated"})
    table = table.assign(
        var_psi_eq2=variance_exact(table["rho_t"].to_numpy()),
        var_psi_eq5=variance_first_order(table["rho_t"].to_numpy()),
    )
    return table.reset_index(drop=True)


def analytic_curves(rho_max: float, points: int = 400) -> pd.DataFrame:
    """Eq. 2 and Eq. 5 on a geometric ρ grid from just above 4 to ``rho_max`` (the figure's
    lines)."""
    grid = np.geomspace(4.05, rho_max, points)
    return pd.DataFrame(
        {"rho": grid, "exact": variance_exact(grid), "first_order": variance_first_order(grid)}
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trajectories", type=int, default=5000)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--mus", default="0,0.001,0.01,0.1,1,10", help="comma-separated µ values")
    parser.add_argument("--beta2", type=float, default=0.999)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("results/analyses"))
    args = parser.parse_args(argv)
    args.mus = [float(value) for value in args.mus.split(",")]
    return args


def csv_rows(t: pd.Series) -> pd.Series:
    """The steps written to the CSVs: every step up to 100, then every 25th (the figure uses
    every step; the committed numbers stay small)."""
    return (t <= 100) | (t % 25 == 0)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    began = time.perf_counter()
    mus = args.mus if 0.0 in args.mus else [*args.mus, 0.0]
    print(
        f"simulating {len(mus)} µ values × {args.trajectories} trajectories × {args.steps} steps",
        flush=True,
    )
    simulated = simulation_table(mus, args.trajectories, args.steps, args.beta2, args.seed)
    analytic = analytic_table(simulated)
    args.out.mkdir(parents=True, exist_ok=True)
    kept = csv_rows(simulated["t"])
    simulated[kept].to_csv(args.out / "variance.csv", index=False, float_format="%.6g")
    analytic[csv_rows(analytic["t"])].to_csv(
        args.out / "variance_analytic.csv", index=False, float_format="%.6g"
    )
    curves = analytic_curves(float(analytic["rho_t"].max()))
    paths = plot_variance(simulated[simulated["mu"].isin(args.mus)], analytic, curves, args.out)
    for path in [args.out / "variance.csv", args.out / "variance_analytic.csv", *paths]:
        print(f"wrote {path}")
    print(f"done in {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
