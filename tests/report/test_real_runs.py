"""The table command on run directories the real training loop wrote (3 short `digits` runs):
the contract between ``experiments.train`` and the table command (summary.json keys,
override spelling, metrics.jsonl)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from experiments.report.tables_command import TablesRequest, run_tables

REFERENCE = """
citation: Integration test (not a paper)
tables:
  digits: {title: "digits, 3 short runs", curves: [train/loss], log_y: [train/loss]}
entries:
  - {id: adam, paper: test, in_paper: none, table: digits, label: Adam, task: digits,
     optimizer: adam, overrides: {max_steps: "20", eval_every: "1e1"},
     select: {over: [], split: val}, metric: test/acc, statistic: final, value: 50.0,
     tolerance: 100.0, sweeps: []}
claims: []
"""


@pytest.mark.slow
def test_tables_from_runs_of_the_training_loop(tmp_path: Path) -> None:
    overrides = ["seed=1,2,3", "max_steps=20", "eval_every=10", f"runs_dir={tmp_path / 'runs'}",
                 "launcher=inline", "device=cpu"]  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "experiments.train", "-m", *overrides],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "integration.yaml").write_text(REFERENCE)
    out = tmp_path / "out"
    request = TablesRequest(str(tmp_path / "runs"), out, "python -m scripts.make_tables",
                            reference=tmp_path / "reference")  # fmt: skip
    assert run_tables(request) == 0
    cell = pd.read_csv(out / "integration" / "digits.csv").iloc[0]
    summaries = sorted((tmp_path / "runs").rglob("summary.json"))
    finals = [json.loads(path.read_text())["final"]["test/acc"] for path in summaries]
    assert cell["n"] == 3 and cell["verdict"] == "matches"
    assert cell["mean"] == pytest.approx(sum(finals) / 3)
    assert (out / "integration" / "digits_curves.png").stat().st_size > 0
