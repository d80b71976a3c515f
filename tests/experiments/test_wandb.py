"""The W&B mirror, with the real ``wandb`` package offline: no API key, a
scratch HOME (no netrc) and no WANDB_MODE. The offline run's records are read back with W&B's own
reader, ``wandb leet inspect --json``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.experiments.cli import (
    LONG_RUN,
    Finished,
    Workspace,
    assert_same_run,
    read_metrics,
    read_summary,
    science,
    train_env,
    wait_for_metrics,
    wait_until,
)

WANDB_RUN = ("task.epochs=1", "log_every=5", "checkpoint_every=10", "device=cpu", "logger=wandb")
WANDB_CLI = Path(sys.executable).parent / "wandb"


def offline_env(home: Path) -> dict[str, str]:
    """No credentials anywhere: W&B must fall back to offline by itself."""
    home.mkdir(parents=True, exist_ok=True)
    env = train_env(HOME=str(home))
    for key in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "NETRC"):
        env.pop(key, None)
    return env


def offline_runs(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob("wandb/offline-run-*"))


def inspect(offline_run: Path, home: Path) -> list[dict[str, Any]]:
    """The records of an offline run's ``.wandb`` log, as W&B's own CLI reads them."""
    result = subprocess.run(
        [str(WANDB_CLI), "leet", "inspect", "--json", str(offline_run)],
        capture_output=True,
        text=True,
        env=offline_env(home),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def history(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Logged rows without W&B's own ``_step``/``_runtime``/``_timestamp``."""
    rows = [record["history"]["item"] for record in records if record["type"] == "history"]
    return [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows]


def final_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for record in records:
        if record["type"] == "summary":
            summary.update(record["summary"].get("update", {}))
    return summary


def the_run(records: list[dict[str, Any]]) -> dict[str, Any]:
    runs = [record["run"] for record in records if record["type"] == "run"]
    assert len(runs) == 1
    return runs[0]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace.create(tmp_path_factory.mktemp("wandb"))


@pytest.fixture(scope="module")
def offline(workspace: Workspace, home: Path) -> Finished:
    result = workspace.run(WANDB_RUN, env=offline_env(home))
    assert result.returncode == 0, result.describe()
    assert result.run_dir is not None
    return result


@pytest.fixture(scope="module")
def records(offline: Finished, home: Path) -> list[dict[str, Any]]:
    assert offline.run_dir is not None
    found = offline_runs(offline.run_dir)
    assert len(found) == 1, found
    return inspect(found[0], home)


def test_without_an_api_key_the_run_is_offline_and_says_how_to_sync(
    offline: Finished, workspace: Workspace
) -> None:
    assert offline.run_dir is not None
    assert "wandb sync" in offline.stdout
    assert str(offline.run_dir / "wandb") in offline.stdout
    run_id = (offline.run_dir / "wandb_id").read_text().strip()
    assert run_id
    (offline_run,) = offline_runs(offline.run_dir)
    assert (offline_run / f"run-{run_id}.wandb").is_file()
    assert read_summary(offline.run_dir)["status"] == "finished"
    assert list(workspace.cwd.iterdir()) == []


def test_the_wandb_run_has_the_config_and_the_identity(
    offline: Finished, workspace: Workspace, records: list[dict[str, Any]]
) -> None:
    assert offline.run_dir is not None
    run = the_run(records)
    config = {k: v for k, v in run["config"]["update"].items() if k != "_wandb"}
    identity = config.pop("identity")
    assert config == yaml.safe_load((offline.run_dir / "config.yaml").read_text())
    summary = read_summary(offline.run_dir)
    for key in ("task", "optimizer", "seed", "sweep", "overrides", "name"):
        assert identity[key] == summary[key]
    assert run["run_id"] == (offline.run_dir / "wandb_id").read_text().strip()
    assert run["project"] == "optrepro"
    assert run["run_group"] == "single"
    assert sorted(run["tags"]) == ["adam", "digits"]
    assert run["display_name"] == str(offline.run_dir.relative_to(workspace.runs_dir))


def test_every_logged_metric_is_in_the_wandb_history(
    offline: Finished, records: list[dict[str, Any]]
) -> None:
    assert offline.run_dir is not None
    events = read_metrics(offline.run_dir)
    assert len(events) == 9  # 8 train lines (every 5 of 40 steps) and one evaluation
    assert history(records) == events


def test_the_wandb_summary_mirrors_summary_json(
    offline: Finished, records: list[dict[str, Any]]
) -> None:
    assert offline.run_dir is not None
    local = read_summary(offline.run_dir)
    mirrored = final_summary(records)
    assert mirrored["status"] == local["status"] == "finished"
    assert mirrored["steps"] == local["steps"]
    assert mirrored["epochs"] == local["epochs"]
    for key, value in local["final"].items():
        assert mirrored[f"final/{key}"] == value
    for key, best in local["best"].items():
        assert mirrored[f"best/{key}"] == best["value"]
    exits = [record["exit"] for record in records if record["type"] == "exit"]
    assert exits and exits[-1].get("exit_code", 0) == 0


def test_a_resumed_run_continues_the_same_wandb_run(tmp_path: Path, home: Path) -> None:
    workspace = Workspace.create(tmp_path)
    fault = offline_env(home) | {"OPTREPRO_FAULT": "kill-after-step:25"}
    killed = workspace.run(WANDB_RUN, env=fault)
    assert killed.returncode == -signal.SIGKILL, killed.describe()
    assert killed.run_dir is not None
    run_id = (killed.run_dir / "wandb_id").read_text().strip()

    resumed = workspace.run(WANDB_RUN, env=offline_env(home))
    assert resumed.returncode == 0, resumed.describe()
    assert (killed.run_dir / "wandb_id").read_text().strip() == run_id
    runs = offline_runs(killed.run_dir)
    assert len(runs) == 2, runs
    assert all((run / f"run-{run_id}.wandb").is_file() for run in runs)
    records = inspect(runs[-1], home)
    assert the_run(records)["run_id"] == run_id
    after_kill = [event for event in read_metrics(killed.run_dir) if event["step"] > 25]
    assert after_kill and all(event in history(records) for event in after_kill)
    assert final_summary(records)["status"] == "finished"


@pytest.mark.slow
def test_a_wandb_failure_at_start_does_not_stop_training(
    tmp_path: Path, home: Path, offline: Finished
) -> None:
    """``logger.wandb.mode=bogus``: ``wandb.init`` raises; a warning, and the local record."""
    workspace = Workspace.create(tmp_path)
    result = workspace.run((*WANDB_RUN, "logger.wandb.mode=bogus"), env=offline_env(home))
    assert result.returncode == 0, result.describe()
    assert "warning" in result.stderr.lower() and "W&B" in result.stderr
    assert result.run_dir is not None
    assert read_summary(result.run_dir)["status"] == "finished"
    assert offline.run_dir is not None
    assert science(read_metrics(result.run_dir)) == science(read_metrics(offline.run_dir))


def children(pid: int) -> dict[int, str]:
    """The command lines of a process's children, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            found[int(entry.name)] = command
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds W&B's service through /proc")
@pytest.mark.slow
def test_a_wandb_failure_mid_run_does_not_stop_training(
    tmp_path: Path, home: Path, reference_run: Callable[..., Path]
) -> None:
    """Kill W&B's service process (``wandb-core``) while the run trains: the mirror stops with a
    warning, the run finishes and its local record equals a run without W&B."""
    workspace = Workspace.create(tmp_path)
    launched = workspace.start((*LONG_RUN, "logger=wandb"), env=offline_env(home))
    wait_for_metrics(launched, 20)

    def service() -> list[int]:
        return [pid for pid, cmd in children(launched.pid).items() if "wandb-core" in cmd]

    wait_until(lambda: bool(service()), launched, "W&B's service process started")
    for pid in service():
        os.kill(pid, signal.SIGKILL)
    result = launched.finish()
    assert result.returncode == 0, result.describe()
    assert "warning" in result.stderr.lower(), result.describe()
    assert result.run_dir is not None
    assert_same_run(result.run_dir, reference_run(LONG_RUN))
