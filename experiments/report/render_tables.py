"""A reference table with our runs, as Markdown, CSV and LaTeX.

Markdown and LaTeX hold the formatted cells under a header: the source, the command that
regenerates the table, the sweep commands that produce its runs, the compute the runs used, and
how to read the verdicts. CSV holds the raw numbers and every run of every cell.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from experiments.report.cells import Cell, TableResult
from experiments.report.formatting import (
    compact_runs,
    cost_line,
    decimals_of,
    interval,
    mean_std,
    number,
    sweep_commands,
)
from experiments.report.statistics import INTERVAL_NAME
from experiments.report.text_formats import csv_text, latex_tabular, markdown_table

VERDICT_RULE = (
    f"CI: {INTERVAL_NAME} (mean ± t(0.975, n−1)·std/√n; std: sample std). Allowance: "
    "max(the paper's ±, the entry's tolerance). Verdict: `matches` when |Δ| and the CI's "
    "half-width are both within the allowance; `inconclusive` when the paper's number lies in "
    "our CI but the CI is wider than the allowance (with ≈ the seeds that would narrow it "
    "enough at our spread); otherwise `higher`/`lower` (numerically) by |Δ|; `n<3` with fewer "
    "than 3 finished seeds. Δ = ours − paper. div/fail/unfin/miss: diverged, failed, "
    "unfinished and missing runs (seeds the sweep should have run) of the setting."
)
MARKDOWN_COLUMNS = (
    "Row | In paper | Task | Metric | Ours (mean ± std) | n | 95% CI | div/fail/unfin/miss | "
    "Paper | Rerun | Δ | Verdict | Setting | Runs"
).split(" | ")
LATEX_COLUMNS = ["Row", "Task", "Ours", "n", "95% CI", "Paper", "Δ", "Verdict"]
CSV_COLUMNS = (
    "id paper in_paper table label task optimizer overrides metric statistic selection_split "
    "select_over setting n mean std ci_low ci_high finished diverged failed unfinished missing "
    "paper_value paper_pm tolerance difference verdict second_references runs notes"
).split()


@dataclass(frozen=True)
class Context:
    """What the headers say about where the tables came from."""

    regenerate: str


def _decimals(cell: Cell) -> int:
    return decimals_of(cell.entry.value, cell.entry.pm)


def _paper(cell: Cell, decimals: int) -> str:
    text = number(cell.entry.value, decimals)
    if cell.entry.pm is not None:
        text += f" ± {number(cell.entry.pm, decimals_of(cell.entry.pm))}"
    return text


def _second(cell: Cell, decimals: int) -> str:
    return "; ".join(f"{number(e.value, decimals)} ({e.paper})" for e in cell.second) or "–"


def _notes(cells: Sequence[Cell]) -> tuple[list[str], list[str]]:
    """Per-row footnote markers and the numbered footnotes (each text once)."""
    markers, footnotes = [], {}
    for cell in cells:
        numbers = []
        for note in ([cell.entry.notes] if cell.entry.notes else []) + cell.notes:
            numbers.append(str(footnotes.setdefault(note, len(footnotes) + 1)))
        markers.append(f" [{','.join(numbers)}]" if numbers else "")
    return markers, list(footnotes)


def header_lines(table: TableResult, context: Context) -> list[str]:
    runs = sweep_commands(s for cell in table.cells for s in cell.entry.sweeps)
    return [
        f"Source: {table.reference.citation}",
        f"Regenerate: `{context.regenerate}`",
        f"Runs: {runs}",
        f"Compute used: {cost_line(table.cost())} — training time from summary.json time_total",
        VERDICT_RULE,
    ]


def _formatted(cell: Cell) -> dict[str, str]:
    d, s, c = _decimals(cell), cell.summary, cell.counts
    return {
        "ours": mean_std(s.mean, s.std, d),
        "n": str(s.n),
        "ci": interval(s.ci_low, s.ci_high, d),
        "counts": f"{c['diverged']}/{c['failed']}/{c['unfinished']}/{c['missing']}",
        "paper": _paper(cell, d),
        "second": _second(cell, d),
        "difference": number(cell.verdict.difference, d, signed=True),
        "verdict": cell.verdict.text(d),
    }


def table_markdown(table: TableResult, context: Context) -> str:
    lines = [f"# {table.spec.title}", ""]
    lines += [f"- {line}" for line in header_lines(table, context)] + [""]
    markers, footnotes = _notes(table.cells)
    rows = []
    for cell, marker in zip(table.cells, markers, strict=True):
        e, f, runs = cell.entry, _formatted(cell), compact_runs(cell.runs)
        rows.append([e.label + marker, e.in_paper, e.task, f"{e.metric} ({e.statistic})",
                     f["ours"], f["n"], f["ci"], f["counts"], f["paper"], f["second"],
                     f["difference"], f"**{f['verdict']}**", cell.setting,
                     f"`{runs}`" if runs else "no runs"])  # fmt: skip
    lines += markdown_table(MARKDOWN_COLUMNS, rows)
    if footnotes:
        lines += ["", "Notes:", ""] + [f"{i}. {note}" for i, note in enumerate(footnotes, 1)]
    return "\n".join(lines) + "\n"


def table_latex(table: TableResult, context: Context) -> str:
    rows = []
    for cell in table.cells:
        f = _formatted(cell)
        rows.append([cell.entry.label, cell.entry.task, f["ours"], f["n"], f["ci"], f["paper"],
                     f["difference"], f["verdict"]])  # fmt: skip
    return latex_tabular([table.spec.title, *header_lines(table, context)], LATEX_COLUMNS, rows)


def table_csv(table: TableResult) -> str:
    rows = []
    for cell in table.cells:
        e, s = cell.entry, cell.summary
        rows.append({
            "id": e.id, "paper": e.paper, "in_paper": e.in_paper, "table": e.table,
            "label": e.label, "task": e.task, "optimizer": e.optimizer,
            "overrides": json.dumps(dict(e.overrides)), "metric": e.metric,
            "statistic": e.statistic, "selection_split": e.select_split,
            "select_over": ";".join(e.select_over), "setting": cell.setting, "n": s.n,
            "mean": s.mean, "std": s.std, "ci_low": s.ci_low, "ci_high": s.ci_high,
            **cell.counts, "paper_value": e.value, "paper_pm": e.pm, "tolerance": e.tolerance,
            "difference": cell.verdict.difference, "verdict": cell.verdict.label,
            "second_references": ";".join(f"{x.paper}:{x.value}" for x in cell.second),
            "runs": ";".join(run.name for run in cell.runs),
            "notes": " | ".join(([e.notes] if e.notes else []) + cell.notes),
        })  # fmt: skip
    return csv_text(rows, CSV_COLUMNS)
