"""``python -m scripts.export_runs --runs DIR --out STEM [--source local|wandb]``

Every run as one row of a tidy table (identity, overrides, status, final and best metrics, time,
the resolved config): ``<STEM>.csv`` and ``<STEM>.parquet`` for one's own analysis (pandas,
polars, R, a spreadsheet). Columns: ``experiments/report/export.py``. Exit codes: 0 written, 2 bad
input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from experiments.report.export_command import run_export


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.export_runs", description=__doc__)
    parser.add_argument("--runs", required=True, help="runs directory, or ENTITY/PROJECT (W&B)")
    parser.add_argument("--out", required=True, type=Path, help="output path without suffix")
    parser.add_argument("--source", choices=("local", "wandb"), default="local")
    parser.add_argument("--group", action="append", default=[], help="W&B group, repeatable")
    parser.add_argument("--no-config", action="store_true", help="leave out config.* columns")
    args = parser.parse_args(argv)
    return run_export(args.source, args.runs, args.out, args.group, not args.no_config)


if __name__ == "__main__":
    sys.exit(main())
