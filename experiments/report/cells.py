"""A table's cells and claims computed from grouped runs: selection, statistics, verdicts, cost."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from experiments.report.curves import run_events
from experiments.report.grouping import (
    Group,
    match_entry,
    metric_mode,
    same_setting,
    select_setting,
)
from experiments.report.records import RunRecord
from experiments.report.reference import Claim, Entry, ReferenceSet, TableSpec, qualified_id
from experiments.report.statistics import PairedComparison, Summary, paired_comparison, summarize
from experiments.report.verdicts import ClaimVerdict, Verdict, cell_verdict, claim_verdict

Index = Mapping[tuple[str, str], list[Group]]


@dataclass
class Cell:
    entry: Entry
    selected: Group | None
    candidates: list[Group]
    others: list[Group]
    values: dict[int | None, float]
    """Seed → the entry's metric for each finished run of the selected setting."""
    summary: Summary
    counts: dict[str, int]
    verdict: Verdict
    notes: list[str] = field(default_factory=list)
    second: list[Entry] = field(default_factory=list)

    @property
    def setting(self) -> str:
        """The selected values of the keys selected over (``—`` for a fixed setting)."""
        if self.selected is None or not self.entry.select_over:
            return "—"
        return self.selected.describe(self.entry.select_over)

    @property
    def runs(self) -> list[RunRecord]:
        """The runs the cell was computed from (every candidate's when none was selected)."""
        groups = [self.selected] if self.selected is not None else self.candidates
        return [run for group in groups for run in group.sorted_runs()]


def build_cell(
    entry: Entry, index: Index, split: str | None = None, second: list[Entry] | None = None
) -> Cell:
    candidates, others = match_entry(entry, index.get((entry.task, entry.optimizer), []))
    chosen = select_setting(entry, candidates, split)
    notes = [chosen.note] if chosen.note else []
    elsewhere = [g for g in others if same_setting(entry, g) and g not in candidates]
    different = [g for g in others if g not in elsewhere]
    if elsewhere:
        n_other = sum(len(group.runs) for group in elsewhere)
        sweeps = ", ".join(sorted({group.sweep for group in elsewhere}))
        notes.append(
            f"{n_other} run(s) of this setting in other sweeps ({sweeps}) are not counted; "
            "--pool-sweeps pools the sweeps"
        )
    if different:
        n_other = sum(len(group.runs) for group in different)
        example = different[0].describe()
        notes.append(
            f"{n_other} other run(s) of {entry.task} × {entry.optimizer} have other overrides "
            f"(e.g. {example}); see groups.md"
        )
    groups = [chosen.group] if chosen.group is not None else candidates
    counts = {"finished": 0, "diverged": 0, "failed": 0, "unfinished": 0}
    for group in groups:
        for key, value in group.counts().items():
            counts[key] += value
        if group.duplicates:
            notes.append(f"{group.duplicates} seed(s) run more than once; best status kept")
    present = len(chosen.group.runs) if chosen.group is not None else 0
    counts["missing"] = max(0, entry.seeds - present)
    values = chosen.group.values(entry.metric, entry.statistic) if chosen.group else {}
    summary = summarize(list(values.values()))
    if not candidates:
        verdict = Verdict("no runs")
    elif summary.n == 0:
        finished = any(group.count("finished") for group in candidates)
        verdict = Verdict("metric not logged" if finished else "no finished runs")
    elif entry.value is None:
        verdict = Verdict("no paper value")
    else:
        verdict = cell_verdict(summary, entry.value, entry.pm, entry.tolerance)
    return Cell(
        entry,
        chosen.group,
        candidates,
        others,
        values,
        summary,
        counts,
        verdict,
        notes,
        list(second or []),
    )


@dataclass
class TableResult:
    reference: ReferenceSet
    spec: TableSpec
    cells: list[Cell]

    def runs(self) -> list[RunRecord]:
        """Every run of every candidate setting of the table (what its sweeps produced)."""
        seen: dict[str, RunRecord] = {}
        for cell in self.cells:
            for group in cell.candidates:
                for run in group.runs.values():
                    seen.setdefault(run.name, run)
        return list(seen.values())

    def cost(self) -> dict[str | None, tuple[float, int]]:
        """Device type → (hours of training time from ``summary.json`` ``time_total``, runs)."""
        cost: dict[str | None, tuple[float, int]] = {}
        for run in self.runs():
            hours, count = cost.get(run.device_type(), (0.0, 0))
            seconds = run.time_total if isinstance(run.time_total, int | float) else 0.0
            cost[run.device_type()] = (hours + seconds / 3600, count + 1)
        return cost


def build_table(
    reference: ReferenceSet,
    spec: TableSpec,
    index: Index,
    split: str | None = None,
    seconds: Mapping[str, list[Entry]] | None = None,
) -> TableResult:
    seconds = seconds or {}
    cells = [
        build_cell(entry, index, split, seconds.get(qualified_id(reference, entry)))
        for entry in reference.table_entries(spec.name)
    ]
    return TableResult(reference, spec, cells)


@dataclass
class ClaimResult:
    claim: Claim
    better: Cell
    worse: Cell
    comparison: PairedComparison
    verdict: ClaimVerdict

    def _margin(self, better: float | None, worse: float | None) -> float:
        """``better − worse`` oriented like ``comparison`` (> 0 favours ``better``)."""
        if better is None or worse is None:
            return math.nan
        sign = 1.0 if metric_mode(self.better.entry.metric) == "max" else -1.0
        return sign * (better - worse)

    @property
    def paper_difference(self) -> float:
        """The paper's own margin; at the matched epochs where the claim has them."""
        matched = self.claim.matched
        if matched is not None:
            return self._margin(matched.better, matched.worse)
        return self._margin(self.better.entry.value, self.worse.entry.value)

    @property
    def matched_note(self) -> str:
        """What a comparison at matched epochs changed (empty for other claims)."""
        matched = self.claim.matched
        if matched is None:
            return ""
        full = self._margin(self.better.entry.value, self.worse.entry.value)
        return (
            f"compared at epoch {matched.epochs:g}, where the shorter reference run ends "
            f"({matched.source}): the paper's Δ there is {self.paper_difference:+.2f} "
            f"(at their full lengths {full:+.2f}); ours is each run's best up to that epoch"
        )


def values_up_to_epoch(cell: Cell, epochs: float) -> dict[int | None, float]:
    """Seed → the entry's metric over each finished run's evaluations up to ``epochs``: the
    last one (statistic ``final``), else the best (``best_epoch``, and ``at_best`` where the run
    selects on the entry's metric, as the PTB recipes do)."""
    metric, found = cell.entry.metric, {}
    best = min if metric_mode(metric) == "min" else max
    for run in cell.runs:
        if run.status != "finished" or cell.selected is None:
            continue
        seen = [
            float(event[metric])
            for event in run_events(run)
            if isinstance(event.get(metric), int | float) and event.get("epoch", math.inf) <= epochs
        ]
        seen = [value for value in seen if math.isfinite(value)]
        if seen:
            found[run.seed] = seen[-1] if cell.entry.statistic == "final" else best(seen)
    return found


def build_claim(claim: Claim, cells: Mapping[str, Cell]) -> ClaimResult:
    """Paired over the seeds both sides finished; oriented by the metric's direction; at the
    claim's matched epochs when it has them."""
    better, worse = cells[claim.better], cells[claim.worse]
    mine, theirs = better.values, worse.values
    if claim.matched is not None:
        mine = values_up_to_epoch(better, claim.matched.epochs)
        theirs = values_up_to_epoch(worse, claim.matched.epochs)
    seeds = sorted(set(mine) & set(theirs), key=lambda s: (s is None, s or 0))
    a = [mine[seed] for seed in seeds]
    b = [theirs[seed] for seed in seeds]
    if metric_mode(better.entry.metric) == "min":
        a, b = b, a
    comparison = paired_comparison(a, b)
    return ClaimResult(claim, better, worse, comparison, claim_verdict(comparison))


def build_claims(reference: ReferenceSet, cells: Mapping[str, Cell]) -> list[ClaimResult]:
    return [build_claim(claim, cells) for claim in reference.claims]
