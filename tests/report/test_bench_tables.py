"""The scale benchmark's synthetic runs are valid run directories the table command reads, and
``python -m scripts.bench_tables`` times the command over them and writes its record (the
timing itself is never asserted here)."""

from __future__ import annotations

import json
from pathlib import Path

from experiments.bench.table_timing import write_runs
from experiments.report.local_runs import load_local_runs
from experiments.report.pipeline import make_tables
from experiments.report.reference import load_references
from experiments.report.render_tables import Context
from tests.report.command_line import run_script


def test_synthetic_runs_fill_the_reference_cells(tmp_path: Path) -> None:
    write_runs(tmp_path / "runs", 60, seeds=3)
    records = load_local_runs(tmp_path / "runs")
    assert len(records) == 60
    outputs = make_tables(
        records, load_references(), tmp_path / "out", Context("bench"), figures=False
    )
    filled = [cell for table in outputs.tables for cell in table.cells if cell.summary.n >= 3]
    assert filled  # the first settings written are reference candidates


def test_the_benchmark_command_writes_its_record(tmp_path: Path) -> None:
    record = tmp_path / "tables-cpu.json"
    done = run_script("bench_tables", "--runs", "30", "--repeat", "1", "--record", record)
    assert done.returncode == 0, done.stdout + done.stderr
    written = json.loads(record.read_text())
    assert written["runs"] == 30 and len(written["seconds"]) == 1
    assert written["command"] == "python -m scripts.bench_tables --runs 30 --repeat 1"
    assert "--no-figures" in written["timed_command"]
