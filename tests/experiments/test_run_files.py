"""The run directory's files (docs/architecture.md, "The run directory") after one real run, and
what the same command does afterwards (a finished run is not re-run; ``force=true`` re-runs
it)."""

from __future__ import annotations

import fcntl
import json
import math
import platform
import socket
import subprocess
from pathlib import Path

import pytest
import torch
import yaml

from data.digits.files import split_digits
from experiments.lifecycle_close import drop_resume_files
from experiments.models.digits_cnn import DigitsCNN
from experiments.runs.snapshots import save_snapshot, snapshot_paths
from experiments.runs.store import RunDirectory
from tests.experiments.cli import (
    REPO_ROOT,
    Finished,
    Workspace,
    read_metrics,
    read_summary,
    science,
    train_env,
)

OVERRIDES = ("task.epochs=2", "log_every=1", "checkpoint_every=25", "device=cpu")
STEPS_PER_EPOCH = 40  # 1,258 training images (70 % of 1,797) in batches of 32
EVALUATED = ("val/loss", "val/acc", "test/loss", "test/acc")
SLURM = {"SLURM_JOB_ID": "4242", "SLURM_ARRAY_JOB_ID": "4240", "SLURM_ARRAY_TASK_ID": "2"}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace.create(tmp_path_factory.mktemp("run_files"))


@pytest.fixture(scope="module")
def finished(workspace: Workspace) -> Finished:
    result = workspace.run(OVERRIDES, env=train_env(**SLURM))
    assert result.returncode == 0, result.describe()
    assert result.run_dir is not None
    return result


@pytest.fixture(scope="module")
def run_dir(finished: Finished) -> Path:
    assert finished.run_dir is not None
    return finished.run_dir


def test_the_command_prints_where_the_results_are(finished: Finished, run_dir: Path) -> None:
    assert str(run_dir) in finished.stdout
    assert "Traceback" not in finished.stdout + finished.stderr


def test_config_yaml_is_the_resolved_config(run_dir: Path) -> None:
    text = (run_dir / "config.yaml").read_text()
    assert "${" not in text
    config = yaml.safe_load(text)
    assert config["task"]["epochs"] == 2
    assert config["log_every"] == 1
    assert config["checkpoint_every"] == 25
    assert config["device"] == "cpu"
    assert config["seed"] == 1
    assert isinstance(config["data_dir"], str) and config["data_dir"]
    assert config["optimizer"]["_target_"]
    assert config["optimizer"]["lr"] > 0


def test_meta_json_records_code_environment_and_data(run_dir: Path) -> None:
    meta = json.loads((run_dir / "meta.json").read_text())
    assert {"sha", "dirty"} <= set(meta["git"])
    if (REPO_ROOT / ".git").exists():
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
        )
        if head.returncode == 0:
            assert meta["git"]["sha"] == head.stdout.strip()
            assert isinstance(meta["git"]["dirty"], bool)
    assert any(line.startswith("torch==") for line in meta["pip_freeze"])
    assert any(line.lower().startswith("hydra-core==") for line in meta["pip_freeze"])
    assert meta["python"] == platform.python_version()
    assert meta["torch"] == torch.__version__
    assert "cuda" in meta
    assert meta["device"]
    assert meta["hostname"] == socket.gethostname()
    assert isinstance(meta["slurm"], dict)
    assert set(SLURM.values()) <= {str(value) for value in meta["slurm"].values()}
    checksums = meta["dataset_checksums"]
    assert checksums and all(isinstance(value, str) and value for value in checksums.values())


def test_metrics_jsonl_has_every_event(run_dir: Path) -> None:
    events = read_metrics(run_dir)
    for event in events:
        assert {"step", "epoch", "time"} <= set(event)
        assert event["epoch"] == pytest.approx(event["step"] / STEPS_PER_EPOCH)
    times = [event["time"] for event in events]
    assert times == sorted(times) and times[0] >= 0
    train = [event for event in events if "train/loss" in event]
    assert [event["step"] for event in train] == list(range(1, 2 * STEPS_PER_EPOCH + 1))
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    for event in train:
        assert math.isfinite(event["train/loss"]) and event["train/loss"] > 0
        assert event["train/lr"] == pytest.approx(config["optimizer"]["lr"])  # constant schedule
    evaluations = [event for event in events if "val/loss" in event]
    assert [event["step"] for event in evaluations] == [STEPS_PER_EPOCH, 2 * STEPS_PER_EPOCH]
    for event in evaluations:
        assert set(EVALUATED) <= set(event)
        assert 0 <= event["val/acc"] <= 100 and 0 <= event["test/acc"] <= 100
    assert len(events) == len(train) + len(evaluations)
    first, last = train[:10], train[-10:]
    assert sum(e["train/loss"] for e in last) < sum(e["train/loss"] for e in first)
    assert evaluations[-1]["test/acc"] > 30  # chance is 10 %


def test_summary_json_has_every_named_key(run_dir: Path) -> None:
    summary = read_summary(run_dir)
    events = read_metrics(run_dir)
    evaluations = [event for event in events if "val/loss" in event]
    assert summary["status"] == "finished"
    assert summary["task"] == "digits"
    assert summary["optimizer"] == "adam"
    assert summary["seed"] == 1
    assert summary["sweep"] == "single"
    assert summary["overrides"] == {"task.epochs": "2"}
    assert summary["headline"] == {"metric": "test/acc", "mode": "max"}
    assert summary["final"] == {key: evaluations[-1][key] for key in EVALUATED}
    for key in EVALUATED:
        values = [event[key] for event in evaluations]
        best_value = max(values) if key.endswith("acc") else min(values)
        best = summary["best"][key]
        assert best["value"] == best_value
        assert best["step"] in [e["step"] for e in evaluations if e[key] == best_value]
        assert best["epoch"] == pytest.approx(best["step"] / STEPS_PER_EPOCH)
    assert summary["steps"] == 2 * STEPS_PER_EPOCH
    assert summary["epochs"] == pytest.approx(2.0)
    assert summary["time_total"] >= events[-1]["time"] > 0
    assert 0 < summary["time_optimizer"] <= summary["time_total"]
    assert isinstance(summary["peak_memory_bytes"], int) and summary["peak_memory_bytes"] > 0
    assert "error" not in summary and "diverged_at" not in summary


def test_the_checkpoint_loads_safely_and_holds_the_final_model(run_dir: Path) -> None:
    saved = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert saved["step"] == 2 * STEPS_PER_EPOCH
    model = DigitsCNN()
    model.load_state_dict(saved["model"])
    assert sum(parameter.numel() for parameter in model.parameters()) == 13_706
    config = yaml.safe_load((run_dir / "config.yaml").read_text())["task"]
    images, labels = split_digits(1, config["val_fraction"], config["test_fraction"])["test"]
    with torch.no_grad():
        correct = (model(images).argmax(dim=1) == labels).sum().item()
    assert 100.0 * correct / len(labels) == pytest.approx(
        read_summary(run_dir)["final"]["test/acc"]
    )
    assert not list(run_dir.glob(".*.tmp"))


def test_the_lock_is_released(run_dir: Path) -> None:
    lock = run_dir / "lock"
    if lock.exists():
        with open(lock, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_the_same_command_does_not_rerun_a_finished_run(
    workspace: Workspace, run_dir: Path
) -> None:
    metrics, summary = run_dir / "metrics.jsonl", run_dir / "summary.json"
    before = (metrics.stat().st_mtime_ns, metrics.read_bytes(), summary.read_bytes())
    again = workspace.run(OVERRIDES)
    assert again.returncode == 0, again.describe()
    assert str(run_dir) in again.stdout
    assert "finished" in again.stdout
    assert (metrics.stat().st_mtime_ns, metrics.read_bytes(), summary.read_bytes()) == before


def test_force_reruns_a_finished_run(workspace: Workspace, run_dir: Path) -> None:
    metrics = run_dir / "metrics.jsonl"
    before_mtime, before = metrics.stat().st_mtime_ns, read_metrics(run_dir)
    again = workspace.run((*OVERRIDES, "force=true"))
    assert again.returncode == 0, again.describe()
    assert again.run_dir == run_dir
    assert metrics.stat().st_mtime_ns != before_mtime
    after = read_metrics(run_dir)
    assert len(after) == len(before)
    assert science(after) == science(before), "deterministic=true: the same command, same run"
    assert read_summary(run_dir)["status"] == "finished"


def test_nothing_is_written_outside_the_runs_dir(workspace: Workspace, finished: Finished) -> None:
    assert list(workspace.cwd.iterdir()) == []


def test_keep_checkpoint_none_removes_it(tmp_path: Path) -> None:
    workspace = Workspace.create(tmp_path)
    result = workspace.run(("max_steps=5", "keep_checkpoint=none", "device=cpu"))
    assert result.returncode == 0, result.describe()
    assert result.run_dir is not None
    summary = read_summary(result.run_dir)
    assert summary["status"] == "finished"
    assert summary["steps"] == 5
    assert summary["epochs"] == pytest.approx(5 / STEPS_PER_EPOCH)
    assert not (result.run_dir / "checkpoint.pt").exists()
    assert not (result.run_dir / "snapshots").exists()
    assert not list(result.run_dir.glob(".*.tmp"))
    assert list(workspace.cwd.iterdir()) == []


def fake_run_with_snapshots(path: Path) -> RunDirectory:
    """A run directory holding a checkpoint and three averaging snapshots (tiny real files)."""
    run = RunDirectory(path)
    path.mkdir(parents=True)
    run.checkpoint_path.write_bytes(b"checkpoint")
    for update in (10, 20, 30):
        save_snapshot(path, update, {"weight": torch.full((2,), float(update))}, keep=3)
    assert len(snapshot_paths(path)) == 3
    return run


@pytest.mark.parametrize("status", ["finished", "diverged"])
def test_keep_checkpoint_none_removes_the_snapshots_of_a_final_run(
    tmp_path: Path, status: str
) -> None:
    run = fake_run_with_snapshots(tmp_path / "run")
    drop_resume_files(run, status, "none")
    assert not run.checkpoint_path.exists()
    assert not (run.path / "snapshots").exists()
    assert sorted(path.name for path in run.path.iterdir()) == []


@pytest.mark.parametrize(
    ("status", "keep"),
    [("finished", "last"), ("interrupted", "none"), ("failed", "none"), ("running", "none")],
)
def test_the_snapshots_stay_otherwise(tmp_path: Path, status: str, keep: str) -> None:
    """``keep_checkpoint=last`` keeps them; an unfinished run resumes (and averages) from them."""
    run = fake_run_with_snapshots(tmp_path / "run")
    drop_resume_files(run, status, keep)
    assert run.checkpoint_path.read_bytes() == b"checkpoint"
    assert [path.name for path in snapshot_paths(run.path)] == [
        f"update-{update:09d}.pt" for update in (10, 20, 30)
    ]


def test_a_multirun_leaves_no_stray_folders(tmp_path: Path) -> None:
    workspace = Workspace.create(tmp_path)
    result = workspace.run(("-m", "launcher=inline", "seed=1,2", "max_steps=3", "device=cpu"))
    assert result.returncode == 0, result.describe()
    assert list(workspace.cwd.iterdir()) == []
    finished = [path for path in workspace.run_dirs() if read_summary(path)["status"] == "finished"]
    assert sorted(path.name for path in finished) == ["seed=1", "seed=2"]
