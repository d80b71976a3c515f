"""``python -m scripts.make_tables --runs DIR --out DIR [--paper NAME] [--source local|wandb]``

Turns runs into the papers' tables (Markdown, CSV, LaTeX), their claims and figures, next to the
published numbers of ``results/reference/``. With no runs at all (an empty runs directory) it
still writes every table: the papers' numbers with "no runs" cells. Exit codes: 0 written, 2 bad
input (a runs directory that does not exist, a malformed reference file, an unknown paper, an
unreadable W&B project).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from experiments.report.reference import REFERENCE_DIR
from experiments.report.tables_command import TablesRequest, run_tables


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
    request = TablesRequest(
        runs=args.runs,
        out=args.out,
        command=f"python -m scripts.make_tables {shlex.join(argv)}",
        papers=args.paper,
        source=args.source,
        groups=args.group,
        reference=args.reference,
        split=None if args.selection == "paper" else args.selection,
        pool_sweeps=args.pool_sweeps,
        figures=not args.no_figures,
    )
    return run_tables(request)


if __name__ == "__main__":
    sys.exit(main())
