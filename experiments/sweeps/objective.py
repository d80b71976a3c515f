"""What a sweep's job returns to Hydra's sweeper: the run's objective, the best value over its
evaluations of the task's validation headline metric (``val/<metric>``, e.g. ``val/acc`` for a
task headlined ``test/acc``). A run that diverged, failed or never evaluated on validation
returns the worst value for the metric's direction (±inf): Optuna's sweeper crashes on NaN and
Hydra's sweepers abort on a failed job, while the sweep's exit code still counts the failure."""

from __future__ import annotations

import math
from typing import Any

from experiments.metric_direction import metric_mode


def objective_metric(headline: str) -> str:
    """``test/acc`` → ``val/acc``; ``avg/test/bleu`` → ``val/bleu``."""
    return "val/" + str(headline).rsplit("/", 1)[-1]


def direction(metric: str) -> str:
    """Optuna's name for the direction in which ``metric`` improves."""
    return "maximize" if metric_mode(metric) == "max" else "minimize"


def worst(metric: str) -> float:
    return -math.inf if metric_mode(metric) == "max" else math.inf


def run_objective(summary: dict[str, Any] | None) -> float | None:
    """The objective recorded in a run's ``summary.json`` (None when it names no headline)."""
    if not summary or not isinstance(summary.get("headline"), dict):
        return None
    metric = objective_metric(summary["headline"].get("metric", ""))
    if summary.get("status") != "finished":
        return worst(metric)
    value = ((summary.get("best") or {}).get(metric) or {}).get("value")
    if not isinstance(value, int | float) or not math.isfinite(value):
        return worst(metric)
    return float(value)
