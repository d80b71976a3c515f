"""Groups of runs (sweep × task × optimizer preset × hyperparameters) and the paper's setting
selection.

A group is every run of one sweep, task, optimizer preset and setting, one run per seed. The
setting is the run's resolved science (``summary.json``'s ``setting`` digest), so
``optimizer.lr=0.001`` written out and the default 0.001 are one group (their directories stay
apart; a key only some runs spelled is a default the others left out); runs recorded before the
digest existed fall back to their canonical overrides. Runs of two sweeps are never pooled
silently (the same setting run by a paper sweep and by one's own sweep are two groups, and a
reference entry takes the groups of its own sweeps). ``pool_sweeps=True`` pools them (the sweep
is then ``*``; a seed run twice keeps its best-status run and is counted as a duplicate).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from experiments.metric_direction import metric_mode
from experiments.report.records import STATUSES_UNFINISHED, RunRecord
from experiments.report.reference import Entry

_STATUS_RANK = {"finished": 0, "diverged": 1, "running": 2, "interrupted": 3, "incomplete": 4}

GroupKey = tuple[str, str, str, tuple[tuple[str, str], ...]]
POOLED = "*"


def canonical(value: str) -> str:
    """One spelling per value: ``1e-3``, ``0.001`` and ``0.0010`` are one learning rate."""
    text = str(value).replace(" ", "")
    try:
        return repr(float(text))
    except ValueError:
        return text


@dataclass
class Group:
    sweep: str
    """The sweep the runs came from, or ``*`` when sweeps are pooled."""
    task: str
    optimizer: str
    overrides: dict[str, str]
    """Every override a run of the group spelled, as the first one spelled it."""
    canonical: dict[str, str]
    """The canonical overrides every run spelled (the group's key)."""
    spelled: dict[str, str] = field(default_factory=dict)
    """The canonical overrides any run spelled (a key only some spelled is a default value)."""
    runs: dict[int | None, RunRecord] = field(default_factory=dict)
    """One run per seed."""
    duplicates: int = 0

    def add(self, record: RunRecord) -> None:
        held = self.runs.get(record.seed)
        if held is None:
            self.runs[record.seed] = record
            return
        self.duplicates += 1
        rank = _STATUS_RANK.get(record.status, 9), record.name
        if rank < (_STATUS_RANK.get(held.status, 9), held.name):
            self.runs[record.seed] = record

    def values(self, metric: str, statistic: str) -> dict[int | None, float]:
        """Seed → the metric of each finished run that has a finite value of it."""
        found = {}
        for seed, run in self.runs.items():
            if run.status == "finished":
                value = run.value(metric, statistic)
                if value is not None and math.isfinite(value):
                    found[seed] = value
        return found

    def count(self, *statuses: str) -> int:
        return sum(run.status in statuses for run in self.runs.values())

    def counts(self) -> dict[str, int]:
        return {
            "finished": self.count("finished"),
            "diverged": self.count("diverged"),
            "failed": self.count("failed"),
            "unfinished": self.count(*STATUSES_UNFINISHED),
        }

    def sorted_runs(self) -> list[RunRecord]:
        return sorted(self.runs.values(), key=lambda run: (run.seed is None, run.seed or 0))

    def describe(self, keys: Iterable[str] | None = None) -> str:
        """``key=value, ...`` of the overrides (or of ``keys`` among them); ``default``."""
        items = [(k, v) for k, v in self.overrides.items() if keys is None or k in keys]
        return ", ".join(f"{k}={v}" for k, v in items) or "default"


def _spellings(records: list[RunRecord]) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The overrides any record spelled (first spelling), their canonical values, and the
    canonical ones every record spelled (one setting gives each key one value)."""
    raw: dict[str, str] = {}
    for record in records:
        for key, value in sorted(record.overrides.items()):
            raw.setdefault(key, value)
    spelled = {key: canonical(value) for key, value in raw.items()}
    everywhere = {k: v for k, v in spelled.items() if all(k in r.overrides for r in records)}
    return raw, spelled, everywhere


def group_runs(records: Iterable[RunRecord], pool_sweeps: bool = False) -> dict[GroupKey, Group]:
    """Records grouped by sweep × task × optimizer × setting (the resolved science where the run
    recorded it, else the canonical overrides), keyed by the overrides every run of the group
    spelled, in sorted key order."""
    settings: dict[tuple, list[RunRecord]] = {}
    for record in records:
        sweep = POOLED if pool_sweeps else record.sweep
        spelled = tuple(sorted((k, canonical(v)) for k, v in record.overrides.items()))
        setting = ("digest", record.setting) if record.setting else ("overrides", spelled)
        settings.setdefault((sweep, record.task, record.optimizer, setting), []).append(record)
    groups: dict[GroupKey, Group] = {}
    for (sweep, task, optimizer, _), members in settings.items():
        raw, spelled, everywhere = _spellings(members)
        key = (sweep, task, optimizer, tuple(sorted(everywhere.items())))
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(sweep, task, optimizer, raw, everywhere, spelled)
        for record in members:
            group.add(record)
    return {key: groups[key] for key in sorted(groups)}


def index_by_task_optimizer(groups: Mapping[GroupKey, Group]) -> dict[tuple[str, str], list[Group]]:
    index: dict[tuple[str, str], list[Group]] = {}
    for (_, task, optimizer, _), group in groups.items():
        index.setdefault((task, optimizer), []).append(group)
    return index


def match_entry(entry: Entry, groups: Iterable[Group]) -> tuple[list[Group], list[Group]]:
    """The entry's candidate settings, and the other groups of its task × optimizer.

    A candidate comes from one of the entry's sweeps (any sweep when pooled, or when the entry
    names none), its runs spelled the entry's ``overrides`` with their values, and every other
    override all its runs spelled is a key selected over (``select.over``): the row means that
    setting and nothing else (a smoke run with an extra ``max_steps`` override, or the same
    setting in another sweep, is not a candidate: it is listed as "other"). A key only some
    runs of a group spelled holds the default value for the others, so it does not count.
    """
    sweeps = {name.replace("/", "_") for name in entry.sweep_names}  # as directories spell it
    matched, others = [], []
    for group in groups:
        in_sweep = group.sweep in (POOLED, *sweeps) or not sweeps
        in_sweep = in_sweep or group.sweep.replace("/", "_") in sweeps
        (matched if same_setting(entry, group) and in_sweep else others).append(group)
    return matched, others


def same_setting(entry: Entry, group: Group) -> bool:
    """Whether the group's runs are the entry's setting, whatever their sweep: they spelled the
    entry's ``overrides`` with its values, and every other key all of them spelled is selected
    over (a key only some spelled holds the default for the others)."""
    required = {k: canonical(v) for k, v in entry.overrides.items()}
    fixed = {k for k in group.canonical if k not in entry.select_over}
    spelled = group.spelled or group.canonical
    return fixed <= set(required) and all(spelled.get(k) == v for k, v in required.items())


@dataclass(frozen=True)
class Selected:
    group: Group | None
    """The chosen setting (the only candidate, if one); None when several candidates exist and
    none has a finished run with the metric."""
    metric: str
    """The metric the choice was made on (the entry's metric on the selection split)."""
    note: str = ""


def _on_split(metric: str, split: str) -> str:
    leaf = metric.split("/", 1)[1] if "/" in metric else metric
    return f"{split}/{leaf}"


def select_setting(entry: Entry, candidates: list[Group], split: str | None = None) -> Selected:
    """The paper's protocol: the candidate with the best mean of the entry's metric (under its
    statistic) on the selection split. A setting that diverged on any seed loses to every
    setting that did not; ties go to the first setting in sorted order. Falls back to the
    entry's own metric (with a note) when no run logged the selection split."""
    split = split or entry.select_split
    metric = _on_split(entry.metric, split)
    if len(candidates) == 1:
        return Selected(candidates[0], metric)
    note = ""
    if not any(group.values(metric, entry.statistic) for group in candidates):
        if metric != entry.metric and any(
            g.values(entry.metric, entry.statistic) for g in candidates
        ):
            note = f"no run logged {metric}; selected on {entry.metric}"
            metric = entry.metric
    sign = 1.0 if metric_mode(metric) == "min" else -1.0
    best, best_score = None, None
    for group in candidates:
        values = group.values(metric, entry.statistic)
        if not values:
            continue
        score = (group.count("diverged") > 0, sign * sum(values.values()) / len(values))
        if best_score is None or score < best_score:
            best, best_score = group, score
    return Selected(best, metric, note)
