"""Time-to-target in every run (``task.target``): the first evaluation reaching it is recorded in
``summary.json`` with its update, epoch, training seconds and units, it survives a kill and a
resume, a malformed target is refused before the run, and the target is not part of the run's
identity (an existing run keeps its directory and resumes)."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from experiments.loop_state import Target
from experiments.runs.identity import first_difference, scientific_config, setting_digest
from tests.experiments.cli import SHORT_RUN, Workspace, read_summary, train_env
from tests.experiments.test_run_identity import compose_run, directory
from tests.runs_in_process import InProcessRun

QUICK = ("max_steps=30", "eval_every=5", "log_every=10", "device=cpu")
"""Evaluations at 5, 10, …, 30; log points at 10, 20, 30 (an evaluation at 5 comes before any
log point, so its units are the open window's)."""


@pytest.fixture(autouse=True)
def alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run started by hand, not by a sweep's local launcher nor under Slurm."""
    monkeypatch.delenv("OPTREPRO_CONCURRENT_RUNS", raising=False)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)


def evaluations(run_dir: Path) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [event for event in map(json.loads, lines) if "val/acc" in event]


def test_the_target_is_not_part_of_the_runs_identity() -> None:
    """The default digits run keeps its directory with, without or with another target, and a
    run stored before targets existed (no ``task.target``) matches on resume and in the tables."""
    assert str(directory()) == "single/digits/adam/default/seed=1"
    assert directory("task.target=null") == directory()
    assert directory("task.target.value=50") == directory()
    current, _, _ = compose_run()
    old, _, _ = compose_run("~task.target")
    assert "target" in current.task and "target" not in old.task
    assert first_difference(scientific_config(old), scientific_config(current)) is None
    assert setting_digest(old) == setting_digest(current)


def test_the_first_evaluation_reaching_the_target_is_recorded(
    run_in_process: Callable[..., InProcessRun],
) -> None:
    finished = run_in_process(*QUICK, "task.target.value=20")
    assert finished.returncode == 0 and finished.run_dir is not None
    summary = read_summary(finished.run_dir)
    events = evaluations(finished.run_dir)
    first = next(event for event in events if event["val/acc"] >= 20)
    target = summary["target"]
    assert target["metric"] == "val/acc" and target["value"] == 20
    assert first is not events[0]  # reached after evaluations that did not reach it
    assert target["reached"] is True
    assert target["update"] == first["step"] <= summary["steps"]
    assert target["epoch"] == first["epoch"]
    assert target["time_train"] == first["time"]  # training seconds, evaluations excluded
    assert 0 < target["time_train"] <= summary["time_train"] <= summary["time_total"]
    assert 0 < target["units"] <= summary["throughput"]["units"]
    assert summary["concurrent_runs"] == 1


def test_units_at_an_evaluation_between_log_points_count_the_open_window(
    run_in_process: Callable[..., InProcessRun],
) -> None:
    """A target every evaluation reaches is reached at update 5, before the first log point:
    5 updates of 32 digits."""
    finished = run_in_process(*QUICK, "task.target.value=0")
    assert finished.run_dir is not None
    target = read_summary(finished.run_dir)["target"]
    assert (target["reached"], target["update"], target["units"]) == (True, 5, 160.0)


def test_a_target_never_reached_records_reached_false_and_nulls(
    run_in_process: Callable[..., InProcessRun],
) -> None:
    finished = run_in_process("max_steps=3", "device=cpu", "task.target.value=100")
    assert finished.returncode == 0 and finished.run_dir is not None
    assert read_summary(finished.run_dir)["target"] == {
        "metric": "val/acc", "value": 100, "reached": False,
        "update": None, "epoch": None, "time_train": None, "units": None,
    }  # fmt: skip


def test_a_run_without_a_target_records_null(
    run_in_process: Callable[..., InProcessRun],
) -> None:
    finished = run_in_process("max_steps=2", "device=cpu", "task.target=null")
    assert finished.run_dir is not None
    assert read_summary(finished.run_dir)["target"] is None


def test_a_target_on_a_split_the_task_does_not_evaluate_is_not_tracked() -> None:
    node = {"metric": "val/acc", "value": 90.5}
    assert Target.of(node, ("test",)) is None  # CIFAR's recipes with task.val_size=0
    assert Target.of(node, ("val", "test")) == Target("val/acc", 90.5)
    assert Target("val/ppl", 70.0).reached_by({"val/ppl": 69.9})
    assert not Target("val/ppl", 70.0).reached_by({"val/ppl": float("nan")})


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("task.target.value=101", "task.target.value=101 is invalid: val/acc is in percent"),
        ("task.target.value=abc", "task.target.value='abc' is invalid: a number"),
        ("task.target.metric=test/acc", "a validation metric such as val/acc"),
        ("+task.target.seeds=3", "unknown key task.target.seeds"),
        ("task.target=90", "task.target=90 is invalid: null or {metric"),
    ],
)
def test_a_malformed_target_is_refused_before_the_run(
    run_in_process: Callable[..., InProcessRun],
    capsys: pytest.CaptureFixture[str],
    override: str,
    message: str,
) -> None:
    refused = run_in_process("max_steps=1", "device=cpu", override)
    error = capsys.readouterr().err.strip().splitlines()
    assert refused.returncode == 2
    assert len(error) == 1 and error[0].startswith("error: ") and message in error[0], error
    assert not refused.runs_dir.exists() or not any(refused.runs_dir.rglob("config.yaml"))


def test_a_resumed_run_keeps_the_hit_it_reached_before_the_kill(
    workspace: Workspace, reference_run: Callable[..., Path]
) -> None:
    """Reached at the evaluation after update 25; killed after update 55 (checkpoint at 45):
    the resumed run evaluates again at 50, 75 and 80 and must still report update 25."""
    overrides = (*SHORT_RUN, "task.target.value=0")
    reference = read_summary(reference_run(overrides))["target"]
    killed = workspace.run(overrides, env=train_env(OPTREPRO_FAULT="kill-after-step:55"))
    assert killed.returncode == -signal.SIGKILL and killed.run_dir is not None
    resumed = workspace.run(overrides)
    assert resumed.returncode == 0, resumed.describe()
    target = read_summary(resumed.run_dir)["target"]
    assert reference["update"] == 25
    timeless = {key: value for key, value in target.items() if key != "time_train"}
    assert timeless == {key: value for key, value in reference.items() if key != "time_train"}
    assert target["time_train"] > 0


@pytest.mark.slow
def test_a_local_sweep_tells_each_run_how_many_share_the_machine(workspace: Workspace) -> None:
    """A local sweep of two runs two at a time tells each run (``OPTREPRO_CONCURRENT_RUNS``),
    and ``summary.json`` records it: their seconds are not comparable with a lone run's (a run
    by hand or through the inline launcher records 1, as the in-process runs above)."""
    sweep = ["-m", "launcher=local", "launcher.max_parallel=2", "seed=1,2", "max_steps=2"]
    done = workspace.run([*sweep, "device=cpu"])
    assert done.returncode == 0, done.describe()
    runs = workspace.run_dirs()
    assert len(runs) == 2
    assert [read_summary(run)["concurrent_runs"] for run in runs] == [2, 2]
