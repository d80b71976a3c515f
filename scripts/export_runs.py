"""``python -m scripts.export_runs --runs DIR --out STEM [--source local|wandb]``

Every run as one row of a tidy table (identity, overrides, status, final and best metrics, time,
the resolved config): ``<STEM>.csv`` and ``<STEM>.parquet`` for one's own analysis (pandas,
polars, R, a spreadsheet). Columns: ``scripts/tables/export.py``. Exit codes: 0 written, 2 bad
input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scripts.tables.export import runs_frame, write_export
from scripts.tables.sources import RunsUnavailable, load_runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.export_runs", description=__doc__)
    parser.add_argument("--runs", required=True, help="runs directory, or ENTITY/PROJECT (W&B)")
    parser.add_argument("--out", required=True, type=Path, help="output path without suffix")
    parser.add_argument("--source", choices=("local", "wandb"), default="local")
    parser.add_argument("--group", action="append", default=[], help="W&B group, repeatable")
    parser.add_argument("--no-config", action="store_true", help="leave out config.* columns")
    args = parser.parse_args(argv)
    try:
        records = load_runs(args.source, args.runs, args.group)
    except RunsUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    frame = runs_frame(records, with_config=not args.no_config)
    paths = write_export(frame, args.out)
    print(f"{len(frame)} runs × {len(frame.columns)} columns: {', '.join(map(str, paths))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
