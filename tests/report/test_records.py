"""Run records: learning curves over seeds (reading a run's name back: tests/experiments/
test_run_name.py)."""

from __future__ import annotations

import pytest

from experiments.report.curves import mean_curve
from experiments.report.local_runs import load_local_runs
from tests.report.fixture_paths import FIXTURE_RUNS


def test_mean_learning_curve_over_seeds() -> None:
    runs = [
        r
        for r in load_local_runs(FIXTURE_RUNS)
        if r.name.startswith("fixture/digits/sgd/optimizer.lr=0.1/")
    ]
    curve = mean_curve(runs, "train/loss")
    assert curve.seeds == 3
    assert list(curve.epochs) == [0.5, 1.0, 1.5, 2.0]
    # At step 80 the three seeds logged 0.6, 0.7 and 0.8.
    assert curve.mean[-1] == pytest.approx(0.7)
    assert curve.std[-1] == pytest.approx(0.1)  # the sample std (ddof 1), as in the tables
    assert mean_curve(runs, "test/bleu") is None
