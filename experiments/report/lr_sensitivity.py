"""Learning-rate sensitivity (RAdam, Liu et al. 2020, Fig. 6 and 7): a task's metrics against the
learning rate, one line per optimizer, for every group of runs that varies ``optimizer.lr``.

Two sources, one drawing:
- a reference table whose rows select over ``optimizer.lr`` (the paper's grids): one line per row
  (and per value of any other key it selects over, e.g. Fig. 7's warmup lengths), written as
  ``<out>/<paper>/<table>_lr_sensitivity[_<task>].{png,pdf}``;
- any sweep × task whose runs spelled at least two learning rates (a paper preset, one's own
  ``-m optimizer.lr=…`` under ``single``, a tuner's continuous lrs): one line per optimizer preset
  and other overrides (a tuner's trials, each with its own other keys and lr, become one line of
  points per preset), written as ``<out>/sweeps/<sweep>/lr_sensitivity_<task>.{png,pdf}``.

Panels: the validation and test value of the task's metric, final and best over training, where
runs logged them. Each point is the median over the finished seeds at that lr, the band their
min–max (a singleton has none); each lr where runs diverged gets a cross on the panel's worse
edge (bottom for accuracy, top for perplexity or loss). Drawn by ``lr_sensitivity_figure.py``;
this module decides what is drawn (matplotlib-free, for ``make tables`` without figures).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from experiments.report.cells import TableResult
from experiments.report.grouping import POOLED, Group, GroupKey
from experiments.report.lr_robustness import (
    LR_KEY,
    RobustnessResult,
    comparable,
    lr_of,
    robustness_result,
)
from experiments.report.reference import Claim

Lines = dict[str, list[Group]]
"""Line label → the groups (one per lr, or several) the line is drawn from."""
STATISTIC_NAMES = {"final": "final", "best_epoch": "best over training"}


def panels(leaves: Iterable[str], groups: Iterable[Group]) -> list[tuple[str, str]]:
    """(metric, statistic) for ``val``/``test`` × final/best of each metric leaf that some
    finished run of ``groups`` logged."""
    groups = list(groups)
    found = []
    for leaf in dict.fromkeys(leaves):
        for split in ("val", "test"):
            for statistic in STATISTIC_NAMES:
                metric = f"{split}/{leaf}"
                if any(group.values(metric, statistic) for group in groups):
                    found.append((metric, statistic))
    return found


def _leaf(metric: str) -> str:
    return metric.rsplit("/", 1)[-1]


def table_lines(table: TableResult) -> dict[str, tuple[Lines, list[str]]]:
    """Task → (the table's lines, its metric leaves), for the rows selected over the lr; rows
    of one optimizer and setting that differ only in metric or split share a line."""
    found: dict[str, tuple[Lines, list[str]]] = {}
    seen: set[tuple] = set()
    for cell in table.cells:
        entry = cell.entry
        if LR_KEY not in entry.select_over:
            continue
        lines, leaves = found.setdefault(entry.task, ({}, []))
        leaves.append(_leaf(entry.metric))
        key = (entry.task, entry.optimizer, tuple(sorted(entry.overrides.items())))
        if key in seen:
            continue
        seen.add(key)
        others = [k for k in entry.select_over if k != LR_KEY]
        for group in cell.candidates:
            if lr_of(group) is None:
                continue
            suffix = group.describe(others) if others else ""
            label = entry.label + (f" ({suffix})" if suffix and suffix != "default" else "")
            lines.setdefault(label, []).append(group)
    return found


def _line_label(group: Group) -> str:
    rest = group.describe([k for k in group.overrides if k != LR_KEY])
    return group.optimizer + ("" if rest == "default" else f" ({rest})")


def _preset_lines(groups: list[Group]) -> Lines:
    """One line per other-overrides setting; a tuner's trials (every such line a single lr)
    become one line for the preset."""
    lines: Lines = {}
    for group in groups:
        lines.setdefault(_line_label(group), []).append(group)
    if len(lines) > 1 and all(len({lr_of(g) for g in line}) == 1 for line in lines.values()):
        return {f"{groups[0].optimizer} (other keys vary)": groups}
    return lines


def _headline_leaf(groups: Iterable[Group]) -> str:
    """The leaf of the runs' headline metric (most common), else ``acc``-like first metric."""
    runs = [run for group in groups for run in group.runs.values()]
    heads = Counter(_leaf(run.headline) for run in runs if run.headline)
    if heads:
        return heads.most_common(1)[0][0]
    for run in runs:
        for metric in run.final:
            if metric.startswith(("val/", "test/")) and _leaf(metric) != "loss":
                return _leaf(metric)
    return "loss"


@dataclass
class SweepSensitivity:
    """One sweep × task whose runs spelled at least two learning rates."""

    sweep: str
    task: str
    lines: Lines
    leaf: str
    robustness: list[RobustnessResult] = field(default_factory=list)

    @property
    def directory(self) -> str:
        """The sweep's folder: its name as run directories spell it; ``pooled`` for ``*``."""
        return "pooled" if self.sweep == POOLED else self.sweep.replace("/", "_")


def _headline_metric(groups: Iterable[Group], leaf: str) -> str:
    groups = list(groups)
    for split in ("test", "val"):
        if any(group.values(f"{split}/{leaf}", "final") for group in groups):
            return f"{split}/{leaf}"
    return f"test/{leaf}"


def sweep_sensitivities(groups: Mapping[GroupKey, Group]) -> list[SweepSensitivity]:
    """Every sweep × task with runs at two or more learning rates, with the robustness claim
    for each RAdam × Adam pair of presets that both swept the lr (on the task's headline metric,
    test before validation, its final value)."""
    by_sweep: dict[tuple[str, str], dict[str, list[Group]]] = {}
    for group in groups.values():
        if lr_of(group) is not None:
            by_sweep.setdefault((group.sweep, group.task), {}).setdefault(
                group.optimizer, []
            ).append(group)
    found = []
    for (sweep, task), presets in by_sweep.items():
        every = [g for side in presets.values() for g in side]
        if len({lr_of(g) for g in every}) < 2:
            continue
        lines: Lines = {}
        for preset_groups in presets.values():
            lines.update(_preset_lines(preset_groups))
        leaf = _headline_leaf(every)
        metric = _headline_metric(every, leaf)
        robustness = [
            robustness_result(
                Claim(
                    f"{task}.{radam}_vs_{adam}.lr_robustness",
                    f"{radam} varies less across learning rates than {adam} ({task}, "
                    f"{metric}; RAdam Fig. 6)",
                    radam,
                    adam,
                ),
                presets[radam],
                presets[adam],
                metric,
                "final",
            )  # fmt: skip
            for radam, adam in comparable(presets)
        ]
        found.append(SweepSensitivity(sweep, task, lines, leaf, robustness))
    return found
