"""Every group of runs, paper or not (``groups.md`` / ``groups.csv``): the table for one's own
optimizers and tasks. One row per sweep × task × optimizer × overrides, with the task's headline
metric
(from ``summary.json``) at the last evaluation and at its best, over the finished seeds."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass

from experiments.report.formatting import compact_runs, interval, mean_std
from experiments.report.grouping import Group
from experiments.report.statistics import INTERVAL_NAME, Summary, summarize_many


@dataclass(frozen=True)
class GroupRow:
    group: Group
    metric: str | None
    final: Summary
    best: Summary


def _headline(group: Group) -> str | None:
    for run in group.runs.values():
        if run.headline:
            return run.headline
    for run in group.runs.values():
        if run.final:
            return sorted(run.final)[0]
    return None


def group_rows(groups: Iterable[Group]) -> list[GroupRow]:
    groups = list(groups)
    metrics = [_headline(group) for group in groups]
    samples = []
    for group, metric in zip(groups, metrics, strict=True):
        for statistic in ("final", "best_epoch"):
            values = group.values(metric, statistic) if metric else {}
            samples.append(list(values.values()))
    summaries = summarize_many(samples)
    return [
        GroupRow(group, metric, summaries[2 * i], summaries[2 * i + 1])
        for i, (group, metric) in enumerate(zip(groups, metrics, strict=True))
    ]


def groups_markdown(rows: list[GroupRow], regenerate: str) -> str:
    columns = [
        "Sweep",
        "Task",
        "Optimizer",
        "Overrides",
        "Metric",
        "Final (mean ± std)",
        "95% CI",
        "Best (mean ± std)",
        "n",
        "div/fail/unfin",
        "Runs",
    ]
    lines = [
        "# Every group of runs (sweep × task × optimizer × overrides)",
        "",
        f"- Regenerate: `{regenerate}`",
        "- Final: last evaluation; Best: best evaluation over training; over finished "
        f"seeds; std: sample std; CI: {INTERVAL_NAME}.",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in rows:
        g, counts = row.group, row.group.counts()
        cells = [
            g.sweep,
            g.task,
            g.optimizer,
            g.describe(),
            row.metric or "–",
            mean_std(row.final.mean, row.final.std, 2),
            interval(row.final.ci_low, row.final.ci_high, 2),
            mean_std(row.best.mean, row.best.std, 2),
            str(row.final.n),
            f"{counts['diverged']}/{counts['failed']}/{counts['unfinished']}",
            f"`{compact_runs(g.sorted_runs())}`",
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if not rows:
        lines.append("| no runs |" + " |" * (len(columns) - 1))
    return "\n".join(lines) + "\n"


def groups_csv(rows: list[GroupRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "sweep",
            "task",
            "optimizer",
            "overrides",
            "metric",
            "n",
            "final_mean",
            "final_std",
            "final_ci_low",
            "final_ci_high",
            "best_mean",
            "best_std",
            "finished",
            "diverged",
            "failed",
            "unfinished",
            "runs",
        ]
    )
    for row in rows:
        g, f, b, counts = row.group, row.final, row.best, row.group.counts()
        writer.writerow(
            [
                g.sweep,
                g.task,
                g.optimizer,
                json.dumps(g.overrides),
                row.metric,
                f.n,
                f.mean,
                f.std,
                f.ci_low,
                f.ci_high,
                b.mean,
                b.std,
                counts["finished"],
                counts["diverged"],
                counts["failed"],
                counts["unfinished"],
                ";".join(run.name for run in g.sorted_runs()),
            ]
        )
    return buffer.getvalue()
