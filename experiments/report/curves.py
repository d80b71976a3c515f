"""Learning curves over seeds from ``metrics.jsonl`` (or the W&B history): mean and std per step.

Every run with logged events contributes, diverged runs up to their divergence: at each step the
mean is over the seeds that logged that step.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.report.records import RunRecord


def run_events(run: RunRecord) -> Iterator[Mapping[str, Any]]:
    """The run's logged events, in order; unreadable lines (a killed writer) are skipped."""
    if run.path is not None:
        try:
            handle = open(run.path / "metrics.jsonl", "rb")
        except OSError:
            return
        with handle:
            for line in handle:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict):
                    yield event
    elif run.history is not None:
        yield from run.history()


@dataclass(frozen=True)
class Curve:
    epochs: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    seeds: int


def mean_curve(runs: Iterable[RunRecord], metric: str) -> Curve | None:
    """Mean and (population) std of ``metric`` against epoch over the runs; None without data."""
    per_run: list[dict[int, float]] = []
    epochs: dict[int, float] = {}
    for run in runs:
        points: dict[int, float] = {}
        for event in run_events(run):
            value, step = event.get(metric), event.get("step")
            if isinstance(value, int | float) and isinstance(step, int) and math.isfinite(value):
                points[step] = float(value)
                epochs.setdefault(step, float(event.get("epoch", step)))
        if points:
            per_run.append(points)
    if not per_run:
        return None
    steps = sorted(epochs)
    matrix = np.full((len(per_run), len(steps)), np.nan)
    for row, points in enumerate(per_run):
        for column, step in enumerate(steps):
            matrix[row, column] = points.get(step, np.nan)
    return Curve(
        epochs=np.array([epochs[step] for step in steps]),
        mean=np.nanmean(matrix, axis=0),
        std=seed_std(matrix),
        seeds=len(per_run),
    )


def seed_std(matrix: np.ndarray) -> np.ndarray:
    """The sample std (ddof 1) over the rows (seeds) of each column, ignoring missing values;
    0 where a column has fewer than two values (no band)."""
    counts = np.sum(~np.isnan(matrix), axis=0)
    mean = np.nanmean(matrix, axis=0)
    squares = np.nansum((matrix - mean) ** 2, axis=0)
    return np.where(counts > 1, np.sqrt(squares / np.maximum(counts - 1, 1)), 0.0)
