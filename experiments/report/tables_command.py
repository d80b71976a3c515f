"""What ``python -m scripts.make_tables`` does once its arguments are parsed: read the papers'
numbers and the runs, warn about runs whose learning curves are incomplete, write every table,
and say what was written. Problems are one line on stderr; the result is the command's exit code
(0 written, 2 bad input: a malformed reference file, an unknown paper, an unreadable W&B
project)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from experiments.report.pipeline import make_tables
from experiments.report.records import RunRecord
from experiments.report.reference import (
    REFERENCE_DIR,
    ReferenceError,
    load_references,
    select_papers,
)
from experiments.report.render_tables import Context
from experiments.report.sources import RunsUnavailable, load_runs
from experiments.runs.store import FINAL_STATUSES, metrics_problem


@dataclass(frozen=True)
class TablesRequest:
    """The table command's options (their help: ``python -m scripts.make_tables --help``)."""

    runs: str
    """A runs directory (local), or ``ENTITY/PROJECT`` (W&B)."""
    out: Path
    command: str
    """The command line written in every header as the way to regenerate the file."""
    papers: Sequence[str] | None = None
    """Papers or reference file names; None: all."""
    source: str = "local"
    groups: Sequence[str] = ()
    reference: Path = REFERENCE_DIR
    split: str | None = None
    """The split the best setting is chosen on; None: each entry's own."""
    pool_sweeps: bool = False
    figures: bool = True


def _warn_incomplete_curves(records: list[RunRecord]) -> None:
    for record in records:
        if record.path is not None and record.status in FINAL_STATUSES:
            problem = metrics_problem(record.path / "metrics.jsonl")
            if problem:
                print(
                    f"warning: {record.name}: the run finished, but its metrics.jsonl {problem} "
                    "(its learning curve is incomplete; force=true re-runs it)",
                    file=sys.stderr,
                )


def run_tables(request: TablesRequest) -> int:
    """Write the tables ``request`` asks for; the command's exit code. With no runs at all (an
    empty runs directory) every table is still written: the papers' numbers with "no runs"
    cells. A runs directory that does not exist is a typo until shown otherwise: exit 2."""
    try:
        references = load_references(request.reference)
    except (OSError, ReferenceError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        papers = select_papers(references, request.papers) if request.papers else None
    except ReferenceError as error:
        print(f"error: {error} (in {request.reference})", file=sys.stderr)
        return 2
    if request.source == "local" and not Path(request.runs).is_dir():
        print(
            f"error: --runs {request.runs} is not a directory (a sweep writes its runs under "
            "runs_dir, default runs/; for the papers' tables without runs give an empty one)",
            file=sys.stderr,
        )
        return 2
    try:
        records = load_runs(request.source, request.runs, request.groups)
    except RunsUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    _warn_incomplete_curves(records)
    outputs = make_tables(
        records, references, request.out, Context(request.command), papers, request.figures,
        request.split, request.pool_sweeps,
    )  # fmt: skip
    verdicts = ", ".join(f"{n} {label}" for label, n in sorted(outputs.verdict_counts().items()))
    print(f"{len(records)} runs; {len(outputs.written)} files in {request.out}; cells: {verdicts}")
    return 0
