"""AlgoPerf's scores of a benchmark, as pure functions of the time-to-target table.

``times[optimizer][task]`` is an optimizer's time-to-target on a task (updates, or seconds from
runs that ran alone), ``math.inf`` when it missed the target. The definitions are AlgoPerf's:
Dahl et al. 2023, "Benchmarking Neural Network Training Algorithms" (arXiv:2306.07179), §4.5,
and the ``algorithmic-efficiency`` repository's ``scoring/performance_profile.py``:

- the performance ratio ``r_{o,t} = times[o][t] / min_o' times[o'][t]`` (the fastest on a task
  has 1; a miss is ``inf``; a task nobody reached gives ``inf / inf`` there, counted as a miss
  for everyone, as ``(r <= tau)`` is false for NaN in the repository's ``rho``);
- the performance profile ``rho_o(tau) = |{t : r_{o,t} <= tau}| / |tasks|``;
- the benchmark score ``B_o = 1 / (tau_max - 1) * integral_1^tau_max rho_o(tau) dtau``, with
  ``tau_max = 4``.

How AlgoPerf integrates: ``compute_performance_profiles`` samples ``rho`` on
``np.linspace(min_tau, max_tau, num_points=100)`` and ``compute_leaderboard_score`` applies
``np.trapz`` and, with ``normalize=True``, divides by ``max_tau - min_tau``. ``rho`` is a step
function, so the trapezoid rule is off by at most half a grid step (3/99/2 on [1, 4]) per jump
divided by the range; here the integral is exact: each task contributes
``max(0, tau_max - r_{o,t})``, so ``B_o = mean_t max(0, tau_max - r_{o,t}) / (tau_max - 1)``.
The two agree as the grid becomes fine (tested against a fine trapezoid).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence


def _tasks(times: Mapping[str, Mapping[str, float]]) -> list[str]:
    """The tasks of the table; every optimizer must have every task (a missing one would
    silently change its denominator)."""
    if not times:
        raise ValueError("no optimizers in the time-to-target table")
    tasks = sorted(next(iter(times.values())))
    for optimizer, row in times.items():
        if sorted(row) != tasks:
            raise ValueError(f"{optimizer} has tasks {sorted(row)}, the others {tasks}")
    if not tasks:
        raise ValueError("no tasks in the time-to-target table")
    return tasks


def performance_ratios(times: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """``r_{o,t}``: each time divided by the fastest on its task; ``inf`` for a miss and for
    every optimizer on a task that nobody reached."""
    tasks = _tasks(times)
    ratios: dict[str, dict[str, float]] = {optimizer: {} for optimizer in times}
    for task in tasks:
        fastest = min(row[task] for row in times.values())
        for optimizer, row in times.items():
            reached = math.isfinite(row[task]) and math.isfinite(fastest)
            ratios[optimizer][task] = row[task] / fastest if reached and fastest > 0 else math.inf
            if reached and fastest == 0:  # a target reached before training: all who did tie
                ratios[optimizer][task] = 1.0 if row[task] == 0 else math.inf
    return ratios


def performance_profile(
    times: Mapping[str, Mapping[str, float]], taus: Sequence[float]
) -> dict[str, list[float]]:
    """times[optimizer][task]: time-to-target (math.inf when missed; every optimizer has every
    task). rho_o(tau) = fraction of tasks with times[o][t] / min_o' times[o'][t] <= tau. A task
    that nobody reached counts as a miss for all."""
    ratios = performance_ratios(times)
    count = len(_tasks(times))
    return {
        optimizer: [sum(ratio <= tau for ratio in row.values()) / count for tau in taus]
        for optimizer, row in ratios.items()
    }


def integrated_score(
    times: Mapping[str, Mapping[str, float]], tau_max: float = 4.0
) -> dict[str, float]:
    """AlgoPerf's benchmark score: the integral of rho_o(tau) over [1, tau_max] divided by
    (tau_max - 1), in [0, 1]; computed exactly (rho is a step function)."""
    if not tau_max > 1:
        raise ValueError(f"tau_max must be > 1, got {tau_max}")
    ratios = performance_ratios(times)
    count = len(_tasks(times))
    return {
        optimizer: sum(max(0.0, tau_max - ratio) for ratio in row.values()) / count / (tau_max - 1)
        for optimizer, row in ratios.items()
    }


def geometric_mean_speedup(
    times: Mapping[str, Mapping[str, float]], baseline: str
) -> dict[str, float]:
    """Per optimizer, the geometric mean over tasks of times[baseline][t] / times[o][t], over
    tasks both reached (nan when none); document how misses are treated.

    Misses: a task where the optimizer or the baseline missed the target is left out of that
    optimizer's mean (a ratio with ``inf`` is 0 or ``inf``, and one such task would decide the
    mean alone); the performance profile and the integrated score are where misses count.
    The baseline's own speed-up is 1 over the tasks it reached (nan if none)."""
    _tasks(times)
    if baseline not in times:
        raise ValueError(f"baseline {baseline!r} is not among {sorted(times)}")
    result: dict[str, float] = {}
    for optimizer, row in times.items():
        logs = [
            math.log(times[baseline][task] / time)
            for task, time in row.items()
            if math.isfinite(time) and math.isfinite(times[baseline][task]) and time > 0
            and times[baseline][task] > 0
        ]  # fmt: skip
        result[optimizer] = math.exp(sum(logs) / len(logs)) if logs else math.nan
    return result


def median_and_spread(values: Sequence[float]) -> tuple[float, float, float]:
    """median, min, max (math.inf entries allowed: a miss)"""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return statistics.median(ordered), ordered[0], ordered[-1]
