"""A task's target derived from runs, as AlgoPerf derives its workloads' targets.

AlgoPerf (Dahl et al. 2023, "Benchmarking Neural Network Training Algorithms", how the
workloads' validation targets were set): each reference optimizer is run over several seeds; per
setting, the median over seeds of each run's best validation value; the target is the best of
those medians. Here a setting is a reference optimizer's runs that share ``summary.json``'s
``setting`` digest (one science whatever the spelling), so an lr grid gives one candidate per
lr. Only finished runs count; the direction follows the suite's metric rule.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from experiments.metric_direction import metric_mode
from experiments.report.local_runs import load_local_runs
from experiments.report.records import RunRecord
from experiments.sweeps.objective import objective_metric


class TargetError(ValueError):
    """No target can be derived (no finished run of a reference optimizer with the metric)."""


@dataclass(frozen=True)
class Candidate:
    """One reference setting: the median over its seeds of each run's best ``metric``."""

    optimizer: str
    overrides: dict[str, str]
    median: float
    runs: list[str]


@dataclass(frozen=True)
class DerivedTarget:
    task: str
    metric: str
    value: float
    chosen: Candidate
    candidates: list[Candidate]

    def yaml_line(self) -> str:
        """The recipe's ``task.target`` to paste, with its source."""
        source = (
            f"median over {len(self.chosen.runs)} seeds of {self.chosen.optimizer}'s best "
            f"{self.metric} (optrepro-target)"
        )
        return (
            f'  target: {{metric: {self.metric}, value: {self.value:.6g}, source: "{source}", '
            "assumed: true}"
        )


def _setting_key(record: RunRecord) -> tuple[str, str]:
    overrides = ",".join(f"{k}={v}" for k, v in sorted(record.overrides.items()))
    return record.optimizer, record.setting or overrides


def derive_target(
    records: Sequence[RunRecord], task: str, references: Sequence[str], metric: str | None
) -> DerivedTarget:
    """The best, by ``metric``'s direction, of the reference settings' medians over seeds of
    each finished run's best ``metric`` (None: the sweep objective's, ``val/`` and the task's
    headline metric)."""
    if metric is None:
        headlines = [r.headline for r in records if r.task == task and r.headline]
        if not headlines:
            raise TargetError(f"no run of task {task} under the runs directory")
        metric = objective_metric(headlines[0])
    groups: dict[tuple[str, str], list[RunRecord]] = defaultdict(list)
    for record in records:
        if record.task == task and record.optimizer in references and record.status == "finished":
            if record.best.get(metric) is not None:
                groups[_setting_key(record)].append(record)
    if not groups:
        raise TargetError(
            f"no finished run of task {task} by {', '.join(references)} recorded {metric}"
        )
    candidates = [
        Candidate(
            optimizer=runs[0].optimizer,
            overrides=runs[0].overrides,
            median=statistics.median(run.best[metric] for run in runs),
            runs=sorted(run.name for run in runs),
        )
        for runs in groups.values()
    ]
    pick = max if metric_mode(metric) == "max" else min
    chosen = pick(candidates, key=lambda candidate: candidate.median)
    return DerivedTarget(task, metric, chosen.median, chosen, candidates)


def derive_from_runs(
    runs_dir: Path, task: str, references: Sequence[str], metric: str | None
) -> DerivedTarget:
    """``derive_target`` over the run directories under ``runs_dir``."""
    if not runs_dir.is_dir():
        raise TargetError(f"--runs {runs_dir} is not a directory")
    return derive_target(load_local_runs(runs_dir), task, references, metric)


def describe(derived: DerivedTarget) -> list[str]:
    """What the command prints: each candidate with its runs, the target, the line to paste."""
    lines = []
    for candidate in sorted(derived.candidates, key=lambda c: (c.optimizer, str(c.overrides))):
        setting = ",".join(f"{k}={v}" for k, v in sorted(candidate.overrides.items()))
        lines.append(
            f"{candidate.optimizer} {setting or 'default'}: median {derived.metric} "
            f"{candidate.median:.6g} over {len(candidate.runs)} run(s)"
        )
    lines.append(
        f"target of {derived.task}: {derived.metric} {derived.value:.6g} "
        f"({derived.chosen.optimizer}, {len(derived.chosen.runs)} runs)"
    )
    lines.append(derived.yaml_line())
    return lines
