"""The tidy export (``python -m scripts.export_runs``): one row per run, in CSV and Parquet, read
back with pandas."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from experiments.report.export_command import run_export
from tests.report.command_line import run_script
from tests.report.fixture_paths import FIXTURE_RUNS


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    stem = tmp_path_factory.mktemp("export") / "runs"
    done = run_script("export_runs", "--runs", FIXTURE_RUNS, "--out", stem)
    assert done.returncode == 0, done.stdout + done.stderr
    return pd.read_csv(stem.with_suffix(".csv")), pd.read_parquet(stem.with_suffix(".parquet"))


def test_a_row_per_run_in_both_formats(exported) -> None:
    csv_frame, parquet_frame = exported
    runs = sorted(str(p.parent.relative_to(FIXTURE_RUNS)) for p in FIXTURE_RUNS.rglob("*.json")
                  if p.name == "summary.json")  # fmt: skip
    assert len(parquet_frame) == len(csv_frame) == len(runs) + 1  # + the run without summary
    assert list(csv_frame.columns) == list(parquet_frame.columns)
    for column in ("run", "sweep", "task", "optimizer", "seed", "status", "overrides",
                   "hp.optimizer.lr", "final.test/acc", "best.test/acc", "time_total"):  # fmt: skip
        assert column in parquet_frame.columns


def test_values_read_back(exported) -> None:
    _, frame = exported
    row = frame.set_index("run").loc["fixture/digits/sgd/optimizer.lr=0.1/seed=2"]
    assert row["status"] == "finished" and row["seed"] == 2
    assert row["final.test/acc"] == 91.0 and row["best.test/acc"] == 92.0
    assert row["hp.optimizer.lr"] == pytest.approx(0.1)  # numbers where every value parses
    assert row["device"] == "cpu" and row["time_total"] == 360.0
    statuses = frame["status"].value_counts().to_dict()
    assert statuses == {"finished": 14, "diverged": 2, "failed": 1, "interrupted": 1,
                        "incomplete": 1}  # fmt: skip
    incomplete = frame.set_index("run").loc["fixture/digits/adam/optimizer.lr=0.001/seed=7"]
    assert incomplete["config.seed"] == 7  # read from its config.yaml


def test_missing_runs_directory_exits_2(tmp_path: Path) -> None:
    assert run_export("local", str(tmp_path / "absent"), tmp_path / "x") == 2
