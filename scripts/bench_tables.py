"""``python -m scripts.bench_tables [--runs 10000]``: the table command at scale.

Writes ``--runs`` synthetic run directories (``summary.json``, a ``meta.json`` of realistic size
and ``config.yaml``; no ``metrics.jsonl``: learning curves are excluded) into a temporary folder,
then times the real command ``python -m scripts.make_tables --runs … --out … --no-figures`` in a
subprocess, pinned to 2 cores where the machine has more. The runs cover every reference entry's
grid (lr grid × warmup lengths × seeds, with diverged, failed and unfinished runs mixed in) plus
user groups that only ``groups.md`` shows. Target: ≤ 10 s on 2 cores. Prints the times and writes
``results/bench/tables-cpu.json`` with the command and the machine. The page cache is warm (the
files were just written): a first read from a cold disk is slower.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from experiments.bench.table_timing import RECORD, time_tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench_tables", description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--record", type=Path, default=RECORD, help="where the record goes")
    args = parser.parse_args(argv)
    return time_tables(args.runs, args.repeat, args.record)


if __name__ == "__main__":
    sys.exit(main())
