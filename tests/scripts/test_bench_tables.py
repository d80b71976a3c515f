"""The scale benchmark's synthetic runs are valid run directories the table command reads (the
timing itself is measured by ``python -m scripts.bench_tables``, never asserted here)."""

from __future__ import annotations

from pathlib import Path

from scripts.bench_tables import write_runs
from scripts.tables.local_runs import load_local_runs
from scripts.tables.pipeline import make_tables
from scripts.tables.reference import load_references
from scripts.tables.render_tables import Context


def test_synthetic_runs_fill_the_reference_cells(tmp_path: Path) -> None:
    write_runs(tmp_path / "runs", 60, seeds=3)
    records = load_local_runs(tmp_path / "runs")
    assert len(records) == 60
    outputs = make_tables(
        records, load_references(), tmp_path / "out", Context("bench"), figures=False
    )
    filled = [cell for table in outputs.tables for cell in table.cells if cell.summary.n >= 3]
    assert filled  # the first settings written are reference candidates
