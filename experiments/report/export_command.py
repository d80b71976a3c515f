"""What ``python -m scripts.export_runs`` does once its arguments are parsed: read the runs and
write them as one tidy table (``experiments.report.export``). The result is the command's exit
code (0 written, 2 the runs cannot be read, said in one line on stderr)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from experiments.report.export import runs_frame, write_export
from experiments.report.sources import RunsUnavailable, load_runs


def run_export(
    source: str, runs: str, stem: Path, groups: Sequence[str] = (), with_config: bool = True
) -> int:
    """Write ``<stem>.csv`` and ``<stem>.parquet``, a row per run of ``runs`` (a runs directory,
    or ``ENTITY/PROJECT`` with ``source`` wandb); the command's exit code."""
    try:
        records = load_runs(source, runs, groups)
    except RunsUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    frame = runs_frame(records, with_config=with_config)
    paths = write_export(frame, stem)
    print(f"{len(frame)} runs × {len(frame.columns)} columns: {', '.join(map(str, paths))}")
    return 0
