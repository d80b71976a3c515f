"""The benchmark report from a manifest and real-format ``summary.json`` files written by hand:
medians and spreads of updates-to-target, seconds only from runs that ran alone, misses, the
t-interval of the final metric, and AlgoPerf's scores computed by hand."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from experiments.report.benchmark_report import write_report
from experiments.report.statistics import summarize

# task → optimizer → per seed: (update at target or None for a miss, training seconds, val acc)
SEEDS = {
    "a": {"adam": [(100, 2.0, 90.0), (120, 2.4, 92.0), (140, 2.8, 91.0)],
          "sgd": [(200, 3.0, 88.0), (None, 0, 80.0), (260, 3.9, 89.0)]},
    "b": {"adam": [(None, 0, 50.0), (None, 0, 55.0), (None, 0, 52.0)],
          "sgd": [(30, 0.5, 96.0), (40, 0.6, 97.0), (50, 0.7, 95.0)]},
}  # fmt: skip


def write_runs(root: Path, concurrent: int) -> Path:
    studies = []
    for task, optimizers in SEEDS.items():
        for optimizer, seeds in optimizers.items():
            names = []
            for seed, (update, seconds, val) in enumerate(seeds, 1):
                name = f"benchmark_t_default/{task}/{optimizer}/optimizer.lr=0.01/seed={seed}"
                reached = update is not None
                summary = {
                    "status": "finished", "seed": seed, "sweep": "benchmark/t/default",
                    "headline": {"metric": "test/acc", "mode": "max"},
                    "final": {"val/acc": val, "test/acc": val - 1},
                    "concurrent_runs": concurrent,
                    "target": {"metric": "val/acc", "value": 85.0, "reached": reached,
                               "update": update, "epoch": None, "units": None,
                               "time_train": seconds if reached else None},
                }  # fmt: skip
                (root / name).mkdir(parents=True)
                (root / name / "summary.json").write_text(json.dumps(summary))
                names.append(name)
            studies.append(
                {"task": task, "optimizer": optimizer, "trials": names[:1] * 4,
                 "seed_runs": names, "best": {"run": names[0], "objective": 1.0,
                                              "setting": {"optimizer.lr": "0.01"}}}
            )  # fmt: skip
    manifest = {
        "name": "t", "budget": {"name": "default", "trials": 4, "seeds": [1, 2, 3]},
        "sampler": {"name": "optuna.samplers.RandomSampler", "seed": 0}, "baseline": "adam",
        "optimizers": [{"label": o, "search": o} for o in ("adam", "sgd")],
        "studies": studies, "wall_s": 60.0, "machine": {"cpus": 2}, "command": "cmd",
    }  # fmt: skip
    path = root / "benchmark_t_default" / "benchmark.json"
    path.write_text(json.dumps(manifest))
    return path


def rows(out: Path, name: str) -> dict:
    return {(r.get("task"), r.get("optimizer")): r for r in csv.DictReader((out / name).open())}


def test_time_to_target_is_the_median_over_seeds_with_misses_infinite(tmp_path: Path) -> None:
    out = tmp_path / "out"
    written = write_report(write_runs(tmp_path / "runs", concurrent=1), out)
    assert out / "performance_profile.png" in written and out / "benchmark.md" in written
    table = rows(out, "time_to_target.csv")
    sgd_a = table[("a", "sgd")]
    assert (float(sgd_a["updates_median"]), float(sgd_a["updates_max"])) == (260.0, math.inf)
    assert (float(sgd_a["updates_min"]), sgd_a["reached"]) == (200.0, "2")
    assert float(table[("a", "adam")]["seconds_median"]) == 2.4
    assert float(table[("b", "adam")]["updates_median"]) == math.inf
    interval = summarize([90.0, 92.0, 91.0])
    assert float(table[("a", "adam")]["val_ci_low"]) == pytest.approx(interval.ci_low)
    assert float(table[("a", "adam")]["test_mean"]) == pytest.approx(90.0)


def test_scores_by_hand(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_report(write_runs(tmp_path / "runs", concurrent=1), out)
    scores = rows(out, "scores.csv")
    # medians: a: adam 120, sgd 260 (ratio 13/6); b: adam miss, sgd 40 (ratio 1)
    assert float(scores[(None, "adam")]["integrated_score"]) == pytest.approx((3 + 0) / 2 / 3)
    sgd = ((4 - 260 / 120) + 3) / 2 / 3
    assert float(scores[(None, "sgd")]["integrated_score"]) == pytest.approx(sgd)
    assert float(scores[(None, "sgd")]["speedup"]) == pytest.approx(120 / 260)  # task a only
    profile = list(csv.DictReader((out / "performance_profile.csv").open()))
    at = {float(r["tau"]): r for r in profile}
    assert float(at[1.0]["sgd"]) == 0.5 and float(at[1.0]["adam"]) == 0.5
    assert float(at[4.0]["sgd"]) == 1.0 and float(at[4.0]["adam"]) == 0.5


def test_seconds_only_from_runs_that_ran_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_report(write_runs(tmp_path / "runs", concurrent=2), out)
    assert rows(out, "time_to_target.csv")[("a", "adam")]["seconds_median"] == "nan"
    text = (out / "benchmark.md").read_text()
    assert "| adam | lr=0.01 | 4 | 120 [100–140] | 3/3 | — |" in text
