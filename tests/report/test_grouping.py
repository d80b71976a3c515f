"""Groups of runs and the paper's setting selection, on the committed fixture runs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from experiments.metric_direction import metric_mode as engine_metric_mode
from experiments.report.grouping import (
    canonical,
    group_runs,
    index_by_task_optimizer,
    match_entry,
    metric_mode,
    select_setting,
)
from experiments.report.local_runs import load_local_runs
from experiments.report.records import RunRecord
from experiments.report.reference import load_reference
from tests.report.fixture_paths import FIXTURE_REFERENCE, FIXTURE_RUNS


@pytest.fixture(scope="module")
def index():
    return index_by_task_optimizer(group_runs(load_local_runs(FIXTURE_RUNS)))


@pytest.fixture(scope="module")
def entries():
    return {e.id: e for e in load_reference(FIXTURE_REFERENCE / "fixture.yaml").entries}


def test_one_value_has_one_spelling() -> None:
    assert canonical("1e-3") == canonical("0.001") == canonical("0.0010")
    assert canonical("[0.99, 0.999]") == canonical("[0.99,0.999]")
    assert canonical("linear") == "linear"


@pytest.mark.parametrize(
    ("metric", "mode"),
    [("test/acc", "max"), ("val/loss", "min"), ("test/ppl", "min"), ("train/nll", "min"),
     ("test/bleu", "max"), ("avg/test/bleu", "max")],
)  # fmt: skip
def test_the_tables_use_the_engines_one_metric_direction_rule(metric: str, mode: str) -> None:
    assert metric_mode is engine_metric_mode, "one rule, shared by the loop and the tables"
    assert metric_mode(metric) == mode


def test_groups_are_task_optimizer_and_overrides(index) -> None:
    sgd = {group.describe(): group for group in index[("digits", "sgd")]}
    assert set(sgd) == {"optimizer.lr=0.01", "optimizer.lr=0.1", "optimizer.lr=1.0"}
    assert sorted(sgd["optimizer.lr=0.1"].runs) == [1, 2, 3]
    adam = {group.describe(): group for group in index[("digits", "adam")]}
    assert adam["optimizer.lr=0.001"].counts() == {
        "finished": 3, "diverged": 1, "failed": 1, "unfinished": 2,
    }  # fmt: skip


def test_a_seed_run_twice_keeps_its_best_status_run() -> None:
    def record(name: str, status: str) -> RunRecord:
        return RunRecord(name, "s", "digits", "sgd", 1, {"optimizer.lr": "0.1"}, status)

    groups = group_runs([record("b", "failed"), record("a", "finished"), record("c", "diverged")])
    (group,) = groups.values()
    assert group.duplicates == 2
    assert group.runs[1].name == "a"


def test_candidates_have_exactly_the_entry_overrides(index, entries) -> None:
    candidates, others = match_entry(entries["adam"], index[("digits", "adam")])
    assert [g.describe() for g in candidates] == ["optimizer.lr=0.001"]  # entry says 1e-3
    assert [g.describe() for g in others] == ["max_steps=80"]  # the smoke run is no candidate


def test_selection_on_val_and_on_test_pick_different_settings(index, entries) -> None:
    groups = index[("digits", "sgd")]
    on_val = select_setting(entries["sgd.val"], match_entry(entries["sgd.val"], groups)[0])
    on_test = select_setting(entries["sgd.test"], match_entry(entries["sgd.test"], groups)[0])
    # lr 1.0 has the best validation accuracy but a diverged seed: never selected.
    assert on_val.group.describe() == "optimizer.lr=0.1" and on_val.metric == "val/acc"
    assert on_test.group.describe() == "optimizer.lr=0.01" and on_test.metric == "test/acc"
    forced = select_setting(entries["sgd.val"], match_entry(entries["sgd.val"], groups)[0], "test")
    assert forced.group.describe() == "optimizer.lr=0.01"


def test_selection_falls_back_to_the_entry_metric_with_a_note(index, entries) -> None:
    entry = entries["sgd.loss"]  # test/loss, selection split val: no run logged val/loss
    groups = [g for g in index[("digits", "sgd")] if g.describe() != "optimizer.lr=1.0"]
    free = replace(entry, overrides={}, select_over=("optimizer.lr",))
    chosen = select_setting(free, match_entry(free, groups)[0])
    assert chosen.metric == "test/loss" and "val/loss" in chosen.note
    assert chosen.group.describe() == "optimizer.lr=0.1"  # lower test loss (0.30 vs 0.5)


def test_a_setting_is_one_group_however_its_overrides_were_spelled(
    run_in_process, tmp_path
) -> None:
    """``optimizer.lr=0.001`` written out and Adam's default 0.001 are one setting: two run
    directories, one group of two seeds (``summary.json`` records the setting's digest)."""
    root = tmp_path / "shared"
    for overrides in (
        ("seed=1",),
        ("seed=2", "optimizer.lr=0.001"),
        ("seed=3", "optimizer.lr=2e-3"),
    ):
        assert run_in_process("max_steps=2", *overrides, runs_dir=root).returncode == 0
    records = load_local_runs(root)
    assert len({record.name.rsplit("/", 1)[0] for record in records}) == 3  # three directories
    groups = group_runs(records)
    seeds = {group.describe(): sorted(group.runs) for group in groups.values()}
    assert seeds == {
        "max_steps=2, optimizer.lr=0.001": [1, 2],  # what any run spelled
        "max_steps=2, optimizer.lr=0.002": [3],
    }
    shared = next(g for g in groups.values() if sorted(g.runs) == [1, 2])
    assert shared.canonical == {"max_steps": canonical("2")}  # the key: what every run spelled
