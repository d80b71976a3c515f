"""Run records: identity read back from run-directory names, learning curves over seeds."""

from __future__ import annotations

import pytest

from scripts.tables.curves import mean_curve
from scripts.tables.local_runs import load_local_runs
from scripts.tables.records import identity_from_name, parse_overrides_component
from tests.scripts.fixture_paths import FIXTURE_RUNS


def test_override_components_read_back() -> None:
    assert parse_overrides_component("default") == {}
    component = "optimizer.betas=[0.99,0.999],optimizer.lr=0.001,schedule_warmup=linear"
    assert parse_overrides_component(component, ["schedule", "schedule/warmup"]) == {
        "optimizer.betas": "[0.99,0.999]",
        "optimizer.lr": "0.001",
        "schedule/warmup": "linear",
    }
    hashed = "a=" + "x" * 165 + "-0123456789ab"
    assert len(hashed) == 180 and parse_overrides_component(hashed) == {"<hashed>": hashed}


def test_identity_from_a_run_directory_name() -> None:
    identity = identity_from_name("radam/cifar10/cifar10_resnet20/radam/optimizer.lr=0.003/seed=4")
    assert identity == {
        "sweep": "radam/cifar10", "task": "cifar10_resnet20", "optimizer": "radam",
        "overrides": {"optimizer.lr": "0.003"}, "seed": 4,
    }  # fmt: skip


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
    assert curve.std[-1] == pytest.approx(0.1 * (2 / 3) ** 0.5)
    assert mean_curve(runs, "test/bleu") is None
