"""``python -m scripts.make_tables --runs DIR --out DIR [--paper NAME] [--source local|wandb]``

Turns runs into the papers' tables (Markdown, CSV, LaTeX), their claims and figures, next to the
published numbers of ``results/reference/``. With no runs at all (even no runs directory yet) it
still writes every table: the papers' numbers with "no runs" cells. Exit codes: 0 written, 2 bad
input (a malformed reference file, an unknown paper, an unreadable W&B project).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from experiments.runs.store import FINAL_STATUSES, metrics_problem
from scripts.tables.pipeline import make_tables
from scripts.tables.reference import (
    REFERENCE_DIR,
    ReferenceError,
    load_references,
    select_papers,
)
from scripts.tables.render_tables import Context
from scripts.tables.sources import RunsUnavailable, load_runs


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.make_tables", description=__doc__)
    parser.add_argument(
        "--runs", required=True, help="runs directory (local), or ENTITY/PROJECT (--source wandb)"
    )
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument(
        "--paper",
        action="append",
        default=None,
        help="a paper (all its reference files) or one reference file's name (repeatable; "
        "default: all)",
    )
    parser.add_argument("--source", choices=("local", "wandb"), default="local")
    parser.add_argument(
        "--group",
        action="append",
        default=[],
        help="W&B group (= sweep) to read, repeatable; default: the whole project",
    )
    parser.add_argument(
        "--reference",
        type=Path,
        default=REFERENCE_DIR,
        help="folder of the papers' numbers (default: results/reference)",
    )
    parser.add_argument(
        "--selection",
        choices=("paper", "val", "test"),
        default="paper",
        help="split the best setting is chosen on (default: each entry's own)",
    )
    parser.add_argument(
        "--pool-sweeps",
        action="store_true",
        help="pool the runs of every sweep (default: a cell takes the runs of its entry's sweeps)",
    )
    parser.add_argument("--no-figures", action="store_true", help="skip the figures")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_arguments(argv)
    try:
        references = load_references(args.reference)
    except (OSError, ReferenceError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        papers = select_papers(references, args.paper) if args.paper else None
    except ReferenceError as error:
        print(f"error: {error} (in {args.reference})", file=sys.stderr)
        return 2
    if args.source == "local" and not Path(args.runs).exists():
        print(f"warning: no runs directory {args.runs}: every cell says 'no runs'", file=sys.stderr)
        records = []
    else:
        try:
            records = load_runs(args.source, args.runs, args.group)
        except RunsUnavailable as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    for record in records:
        if record.path is not None and record.status in FINAL_STATUSES:
            problem = metrics_problem(record.path / "metrics.jsonl")
            if problem:
                print(
                    f"warning: {record.name}: the run finished, but its metrics.jsonl {problem} "
                    "(its learning curve is incomplete; force=true re-runs it)",
                    file=sys.stderr,
                )
    context = Context(f"python -m scripts.make_tables {shlex.join(argv)}")
    split = None if args.selection == "paper" else args.selection
    outputs = make_tables(
        records, references, args.out, context, papers, not args.no_figures, split,
        args.pool_sweeps,
    )  # fmt: skip
    verdicts = ", ".join(f"{n} {label}" for label, n in sorted(outputs.verdict_counts().items()))
    print(f"{len(records)} runs; {len(outputs.written)} files in {args.out}; cells: {verdicts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
