"""Reddi et al. (2018)'s online convex problem on which Adam does not converge (Theorem 1).

On x ∈ [−1, 1] the losses are linear, f_t(x) = g_t·x, with g_t = ``big`` when t mod ``period`` = 1
and ``small`` otherwise; the sum of gradients over a period is positive, so the best fixed point
is x = −1. Two instances (docs/papers.md §1, AdaBound section):

- ``theorem1``: g = 3 every third step, −1 otherwise (C = 3), β1 = 0, β2 = 1/(1 + C²) = 0.1.
- ``synthetic``: g = 1010 once every 101 steps, −10 otherwise — Reddi et al.'s synthetic
  experiment, run with their β1 = 0.9, β2 = 0.99 (taken from that paper's §5, not docs/papers.md).

Step sizes follow α_t = α/√t (the ``inverse_sqrt_t`` schedule applied by hand, as the training
loop does: group lr = α·factor(t)) and the iterate is projected onto [−1, 1] after each update.
Each problem carries two α: ``alpha`` for the adaptive methods (Adam, AMSGrad, and AdaBound's
lr) and ``sgd_alpha`` for plain SGD (no momentum) and for AdaBound/AMSBound's ``final_lr`` —
the SGD step their bounds converge to (the schedule scales the bounds too: f = final_lr·lr_t/lr,
so they tighten around sgd_alpha/√t). γ is the default 1e-3; Adam and AMSGrad use torch's ε.

- ``theorem1``: α = sgd_alpha = 0.1 (gradients of order 1 suit both). The bound ratio
  upper/lower = ((γt+1)/(γt))² drops below C/2 = 1.5 after t ≈ 4,500; from then on no step
  inside the bounds makes a period's net move positive, and AdaBound, which first follows Adam
  to +1, comes back to −1 (near t ≈ 8,000).
- ``synthetic``: α = 0.5, sgd_alpha = 0.02. With α = 0.1 the adaptive methods move too little in
  30,000 steps to show where they are heading; an SGD step of 0.5/√t against gradients of 1010
  throws x across the whole interval every period. The net margin per period is 1% (1010 vs
  1000), so AdaBound's bounds (ratio ((γt+1)/(γt))²) only guarantee progress after t ≈ 2·10⁵:
  within 30,000 steps SGD, AdaBound and AMSBound are still on their way to −1.

Regret: R_T = Σ_{t≤T} f_t(x_t) − min_{x∈[−1,1]} Σ_{t≤T} f_t(x), where the minimum of a linear
function on [−1, 1] is −|Σ g_t|. The figure shows x_t and the average regret R_t/t.

Run: ``python -m experiments.analyses.counterexample [--steps 30000] [--out results/analyses]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from experiments.analyses.counterexample_plot import plot_counterexample
from experiments.analyses.counterexample_problem import (
    OPTIMIZER_NAMES,
    PROBLEMS,
    OnlineLinearProblem,
)
from optimizers import SGD, AdaBound, Adam, AMSBound, AMSGrad
from optimizers.schedules import build_schedule


def build_optimizer(
    name: str, params: list[torch.Tensor], problem: OnlineLinearProblem
) -> torch.optim.Optimizer:
    """The project's optimizer ``name`` with the problem's betas and step sizes (module doc)."""
    if name == "SGD":
        return SGD(params, lr=problem.sgd_alpha)
    if name in ("Adam", "AMSGrad"):
        cls = Adam if name == "Adam" else AMSGrad
        return cls(params, lr=problem.alpha, betas=problem.betas)
    if name in ("AdaBound", "AMSBound"):
        cls = AdaBound if name == "AdaBound" else AMSBound
        return cls(params, lr=problem.alpha, betas=problem.betas, final_lr=problem.sgd_alpha)
    raise ValueError(f"unknown optimizer {name!r}; expected one of {OPTIMIZER_NAMES}")


def run(
    problem: OnlineLinearProblem, optimizer_name: str, steps: int, x0: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Play ``steps`` rounds; return x_t (where f_t is evaluated) and R_t/t for t = 1..steps."""
    x = torch.tensor([x0], dtype=torch.float64, requires_grad=True)
    optimizer = build_optimizer(optimizer_name, [x], problem)
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    schedule = build_schedule(
        {"name": "inverse_sqrt_t", "warmup": {"name": "none"}},
        base_lr=base_lrs[0],
        steps_per_epoch=1,
        total_steps=steps,
        betas=problem.betas,
    )
    gradients = np.array([problem.gradient(t) for t in range(1, steps + 1)])
    iterates = np.empty(steps)
    for t in range(1, steps + 1):
        iterates[t - 1] = x.item()
        for group, base_lr in zip(optimizer.param_groups, base_lrs, strict=True):
            group["lr"] = base_lr * schedule.factor(t)
        x.grad = torch.tensor([gradients[t - 1]], dtype=torch.float64)
        optimizer.step()
        with torch.no_grad():
            x.clamp_(-1.0, 1.0)
    played = np.cumsum(gradients * iterates)
    best_fixed = -np.abs(np.cumsum(gradients))
    return iterates, (played - best_fixed) / np.arange(1, steps + 1)


def results_table(problems: Sequence[OnlineLinearProblem], steps: int, x0: float) -> pd.DataFrame:
    """x_t and R_t/t for every problem, optimizer and step; prints each run's outcome."""
    frames = []
    for problem in problems:
        for name in OPTIMIZER_NAMES:
            began = time.perf_counter()
            iterates, average_regret = run(problem, name, steps, x0)
            elapsed = time.perf_counter() - began
            print(
                f"  {problem.name:9s} {name:8s} x_T = {iterates[-1]:+.4f}  "
                f"R_T/T = {average_regret[-1]:.4f}  ({elapsed:.1f} s)",
                flush=True,
            )
            frames.append(
                pd.DataFrame(
                    {
                        "problem": problem.name,
                        "optimizer": name,
                        "t": np.arange(1, steps + 1),
                        "x_t": iterates,
                        "average_regret": average_regret,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def subsampled(table: pd.DataFrame, rows: int) -> pd.DataFrame:
    """About ``rows`` evenly spaced steps of each curve, always including the last one."""
    steps = int(table["t"].max())
    every = max(1, steps // rows)
    return table[((table["t"] - 1) % every == 0) | (table["t"] == steps)]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30_000)
    parser.add_argument("--x0", type=float, default=0.0, help="starting point in [-1, 1]")
    parser.add_argument("--rows", type=int, default=250, help="CSV rows per curve (subsampled)")
    parser.add_argument("--out", type=Path, default=Path("results/analyses"))
    args = parser.parse_args(argv)
    if not -1.0 <= args.x0 <= 1.0:
        parser.error(f"--x0 must lie in [-1, 1], got {args.x0}")
    return args


def main(argv: Sequence[str] | None = None) -> None:

    args = parse_args(argv)
    began = time.perf_counter()
    print(f"{len(PROBLEMS)} problems × {len(OPTIMIZER_NAMES)} optimizers × {args.steps} steps")
    table = results_table(PROBLEMS, args.steps, args.x0)
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "counterexample.csv"
    subsampled(table, args.rows).to_csv(csv_path, index=False, float_format="%.6g")
    for path in [csv_path, *plot_counterexample(table, PROBLEMS, args.out)]:
        print(f"wrote {path}")
    print(f"done in {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
