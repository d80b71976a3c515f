"""A real benchmark, small: 2 tasks × 2 optimizers, 2 trials each, 2 seeds (``make test``'s
slice of the offline benchmark). Its report's numbers are read back from the run directories, a
rerun trains nothing, and ``make tables`` renders the same report from the runs."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import pytest

from experiments.benchmark.command import main
from experiments.report.local_runs import load_local_runs
from experiments.report.pipeline import make_tables
from experiments.report.render_tables import Context

TINY = """\
name: tiny
baseline: adam
sampler_seed: 0
budgets:
  default: {trials: 2, seeds: [1, 2]}
tasks:
  digits:
    overrides: [task=digits, max_steps=30, eval_every=10, task.target.value=40]
  digits_b64:
    overrides: [task=digits, task.batch_size=64, max_steps=30, eval_every=10,
                task.target.value=40]
optimizers:
  adam: {overrides: [optimizer=adam], search: adam}
  sgd: {overrides: [optimizer=sgd], search: sgd}
"""


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bench")
    (root / "tiny.yaml").write_text(TINY)
    arguments = [f"benchmark={root / 'tiny.yaml'}", f"runs_dir={root / 'runs'}", "device=cpu"]
    assert main([*arguments, f"out={root / 'out'}"]) == 0
    return root


def summary(root: Path, name: str) -> dict:
    return json.loads((root / "runs" / name / "summary.json").read_text())


def manifest(root: Path) -> dict:
    return json.loads((root / "runs" / "benchmark_tiny_default" / "benchmark.json").read_text())


def test_each_study_has_its_budget_and_its_best_trial_runs_over_the_seeds(bench: Path) -> None:
    studies = manifest(bench)["studies"]
    assert [(s["task"], s["optimizer"]) for s in studies] == [
        ("digits", "adam"), ("digits", "sgd"), ("digits_b64", "adam"), ("digits_b64", "sgd"),
    ]  # fmt: skip
    for study in studies:
        assert len(study["trials"]) == 2 and len(study["seed_runs"]) == 2
        values = {t: summary(bench, t)["best"]["val/acc"]["value"] for t in study["trials"]}
        assert study["best"]["run"] == max(values, key=values.get)
        assert study["best"]["objective"] == max(values.values())
        assert study["best"]["run"] in study["seed_runs"]  # seed 1 is the trial itself
        seeds = sorted(summary(bench, r)["seed"] for r in study["seed_runs"])
        assert seeds == [1, 2]
        assert {summary(bench, r)["sweep"] for r in study["seed_runs"]} == {
            "benchmark/tiny/default"
        }


def test_the_report_holds_the_numbers_of_the_run_directories(bench: Path) -> None:
    out = bench / "out" / "tiny"
    for name in ("benchmark.md", "performance_profile.png", "scores.csv", "time_to_target.csv"):
        assert (out / name).is_file(), name
    rows = {
        (r["task"], r["optimizer"]): r for r in csv.DictReader((out / "time_to_target.csv").open())
    }
    times: dict[str, dict[str, float]] = {}
    for study in manifest(bench)["studies"]:
        runs = [summary(bench, r) for r in study["seed_runs"]]
        row = rows[(study["task"], study["optimizer"])]
        assert float(row["val_mean"]) == pytest.approx(
            statistics.mean(r["final"]["val/acc"] for r in runs)
        )
        assert float(row["test_mean"]) == pytest.approx(
            statistics.mean(r["final"]["test/acc"] for r in runs)
        )
        updates = [r["target"]["update"] if r["target"]["reached"] else float("inf") for r in runs]
        assert float(row["updates_median"]) == statistics.median(updates)
        assert int(row["trials"]) == 2 and int(row["reached"]) == sum(
            r["target"]["reached"] for r in runs
        )
        times.setdefault(study["optimizer"], {})[study["task"]] = statistics.median(updates)
    scores = {r["optimizer"]: r for r in csv.DictReader((out / "scores.csv").open())}
    for optimizer, row in times.items():
        ratios = [row[t] / min(times[o][t] for o in times) for t in row]
        hand = sum(max(0.0, 4 - r) for r in ratios) / len(ratios) / 3  # AlgoPerf's B, exactly
        assert float(scores[optimizer]["integrated_score"]) == pytest.approx(hand)
    text = (out / "benchmark.md").read_text()
    assert "2 trials per optimizer × task" in text and "seeds [1, 2]" in text


def test_a_rerun_trains_nothing_and_writes_the_same_report(bench: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in (bench / "runs").rglob("summary.json")}
    first = (bench / "out" / "tiny" / "time_to_target.csv").read_text()
    arguments = [f"benchmark={bench / 'tiny.yaml'}", f"runs_dir={bench / 'runs'}", "device=cpu"]
    assert main([*arguments, f"out={bench / 'again'}"]) == 0
    assert {p: p.stat().st_mtime_ns for p in (bench / "runs").rglob("summary.json")} == before
    assert (bench / "again" / "tiny" / "time_to_target.csv").read_text() == first


def test_make_tables_renders_the_benchmark_beside_the_tables(bench: Path) -> None:
    records = load_local_runs(bench / "runs")
    outputs = make_tables(records, {}, bench / "tables", Context("make tables"))
    report = bench / "tables" / "benchmark" / "tiny"  # the folder make benchmark writes
    assert report / "benchmark.md" in outputs.written
    assert (report / "time_to_target.csv").read_text() == (
        bench / "out" / "tiny" / "time_to_target.csv"
    ).read_text()


@pytest.mark.slow
def test_the_offline_benchmark_at_the_smoke_budget(tmp_path: Path) -> None:
    """The first-contact command (< 3 min on 2 idle cores): every task × optimizer reported."""
    arguments = ["benchmark.budget=smoke", f"runs_dir={tmp_path / 'runs'}", "device=cpu"]
    assert main([*arguments, f"out={tmp_path / 'out'}"]) == 0
    table = list(csv.DictReader((tmp_path / "out" / "offline_smoke" / "time_to_target.csv").open()))
    assert {(r["task"], r["optimizer"]) for r in table} == {
        (task, optimizer)
        for task in ("digits", "markov_lm", "reverse_translation")
        for optimizer in ("adam", "adamw", "radam", "adabound", "sgd")
    }
    assert all(r["trials"] == "2" and r["seeds"] == "2" for r in table)


def test_a_task_without_a_validation_split_is_named(tmp_path: Path) -> None:
    """CIFAR's recipes select on test unless given ``task.val_size``: their runs finish with no
    ``val/…`` metric, and the benchmark stops naming it instead of tuning on nothing."""
    from experiments.benchmark.runner import lacks_validation

    trials = []
    for name, best in (("a", {"test/acc": {"value": 90.0}}), ("b", {"val/acc": {"value": 1.0}})):
        (tmp_path / name).mkdir()
        summary = {"status": "finished", "headline": {"metric": "test/acc"}, "best": best}
        (tmp_path / name / "summary.json").write_text(json.dumps(summary))
        trials.append(tmp_path / name)
    assert lacks_validation(trials[:1]) == "val/acc"
    assert lacks_validation(trials[1:]) is None
