"""``scripts.bench_train`` (``experiments.bench.train_throughput``) times any task through the
contract and writes its record."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from experiments.bench.train_throughput import main
from tests.experiments.cli import REPO_ROOT


def test_the_training_benchmark_runs_and_records_ratios(tmp_path: Path) -> None:
    out = tmp_path / "train.json"
    record = main(["--tasks", "digits", "--steps", "3", "--repeats", "2", "--out", str(out)])
    assert json.loads(out.read_text()) == record
    (result,) = record["results"]
    assert result["unit"] == "samples" and result["units_per_step"] == 32
    assert result["loop_s_per_step"] > 0 and result["bare_s_per_step"] > 0
    low, median, high = (result[f"loop_overhead_{k}"] for k in ("min", "median", "max"))
    assert math.isfinite(median) and low <= median <= high
    assert record["command"].startswith("python -m scripts.bench_train --tasks digits")


def test_the_entry_point_answers_help() -> None:
    command = [sys.executable, "-m", "scripts.bench_train", "--help"]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "--tasks" in done.stdout
