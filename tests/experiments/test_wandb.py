"""The W&B mirror, with the real ``wandb`` package offline: no API key, a
scratch HOME (no netrc) and no WANDB_MODE. The offline run's records are read back with W&B's own
reader, ``wandb leet inspect --json``; the credential rule is checked against wandb's own netrc
reader, without contacting any server."""

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

from experiments.metric_direction import metric_mode
from experiments.runs.wandb_history import held_rows
from experiments.runs.wandb_mode import missing_credentials, resolve_mode
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
SELF_HOSTED = "https://wandb.example.org"  # never contacted: no credentials for it anywhere
BOOKKEEPING = ("step", "epoch", "time")


def offline_env(home: Path) -> dict[str, str]:
    """No credentials anywhere: W&B must fall back to offline by itself."""
    home.mkdir(parents=True, exist_ok=True)
    env = train_env(HOME=str(home))
    for key in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "NETRC"):
        env.pop(key, None)
    return env


def offline_runs(run_dir: Path, run_id: str = "*") -> list[Path]:
    """The offline W&B runs (one per launch) in a run directory, oldest first."""
    return sorted(run_dir.glob(f"wandb/offline-run-*-{run_id}"))


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


def rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history rows, as W&B stores them (with its ``_step``, ``_runtime``, ...)."""
    return [record["history"]["item"] for record in records if record["type"] == "history"]


def history(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Logged rows without W&B's own ``_step``/``_runtime``/``_timestamp``."""
    return [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows(records)]


def all_rows(run_dir: Path, run_id: str, home: Path) -> list[dict[str, Any]]:
    """Every history row of one W&B run over all its launches' offline logs, by ``_step``."""
    found = [row for run in offline_runs(run_dir, run_id) for row in rows(inspect(run, home))]
    return sorted(found, key=lambda row: row["_step"])


def assert_mirrors(found: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    """W&B's rows are ``metrics.jsonl``, line for line: row ``_step = i`` is line ``i``, and
    each step is in W&B once."""
    assert [row["_step"] for row in found] == list(range(len(events)))
    assert [{k: v for k, v in row.items() if not k.startswith("_")} for row in found] == events


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
    """A finished run mirrored to a self-hosted W&B server it has no credentials for."""
    result = workspace.run(WANDB_RUN, env=offline_env(home) | {"WANDB_BASE_URL": SELF_HOSTED})
    assert result.returncode == 0, result.describe()
    assert result.run_dir is not None
    return result


@pytest.fixture(scope="module")
def records(offline: Finished, home: Path) -> list[dict[str, Any]]:
    assert offline.run_dir is not None
    found = offline_runs(offline.run_dir)
    assert len(found) == 1, found
    return inspect(found[0], home)


def test_without_an_api_key_the_run_is_offline_and_says_why_and_how_to_sync(
    offline: Finished, workspace: Workspace, home: Path
) -> None:
    assert offline.run_dir is not None
    run_id = (offline.run_dir / "wandb_id").read_text().strip()
    assert run_id
    said = [line for line in offline.stdout.splitlines() if line.startswith("W&B offline")]
    assert said == [
        f"W&B offline: no WANDB_API_KEY and no {home / '.netrc'} entry for wandb.example.org "
        f"(WANDB_BASE_URL); sync later with: "
        f"wandb sync {offline.run_dir}/wandb/offline-run-*-{run_id}"
    ]
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
    assert_mirrors(rows(records), events)


def test_each_metric_summary_is_its_best_by_the_suite_rule(
    offline: Finished, records: list[dict[str, Any]]
) -> None:
    """``define_metric(name, summary=min|max)`` by ``metric_mode``: W&B's summary of a loss
    is its minimum, of an accuracy its maximum (W&B's default would be the last value)."""
    assert offline.run_dir is not None
    events = read_metrics(offline.run_dir)
    names = sorted({key for event in events for key in event} - set(BOOKKEEPING))
    assert {"val/acc", "val/loss", "train/loss", "train/acc"} <= set(names)
    defined = {
        record["metric"]["name"]: record["metric"]
        for record in records
        if record["type"] == "metric" and "name" in record["metric"]
    }
    summary = final_summary(records)
    for name in names:
        mode = metric_mode(name)
        assert defined[name]["summary"] == {mode: True}, name
        assert defined[name]["step_metric"] == "step"
        values = [event[name] for event in events if name in event]
        assert summary[name] == {mode: (min if mode == "min" else max)(values)}, name
    assert defined["val/acc"]["summary"] == {"max": True}
    assert defined["val/loss"]["summary"] == {"min": True}
    train_losses = [event["train/loss"] for event in events if "train/loss" in event]
    assert summary["train/loss"] == {"min": min(train_losses)}


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


def test_the_rows_wandb_holds_are_read_as_wandb_reads_them(
    offline: Finished, tmp_path: Path, home: Path
) -> None:
    """``held_rows`` (the mirror's reader of W&B's transaction log) counts the rows that W&B's
    own reader finds, also in a log cut off mid-record (what a killed process leaves)."""
    assert offline.run_dir is not None
    run_id = (offline.run_dir / "wandb_id").read_text().strip()
    (source,) = offline_runs(offline.run_dir, run_id)
    log = (source / f"run-{run_id}.wandb").read_bytes()
    copy = tmp_path / "wandb" / source.name / f"run-{run_id}.wandb"
    copy.parent.mkdir(parents=True)
    for size in (len(log) * 2 // 3, len(log) // 3):
        copy.write_bytes(log[:size])
        assert held_rows(tmp_path / "wandb", run_id) == len(rows(inspect(copy.parent, home)))
    assert held_rows(tmp_path / "wandb", "another") == 0


def killed_after(
    workspace: Workspace, overrides: tuple[str, ...], home: Path, step: int
) -> tuple[Path, str]:
    """The run directory and W&B run id of a run SIGKILLed after ``step``."""
    fault = offline_env(home) | {"OPTREPRO_FAULT": f"kill-after-step:{step}"}
    killed = workspace.run(overrides, env=fault)
    assert killed.returncode == -signal.SIGKILL, killed.describe()
    assert killed.run_dir is not None
    return killed.run_dir, (killed.run_dir / "wandb_id").read_text().strip()


def test_a_resumed_run_continues_the_same_wandb_run_and_force_starts_a_new_one(
    tmp_path: Path, home: Path
) -> None:
    """Killed after step 25 (checkpoint at 20): ``wandb`` writes its log in 32 KiB blocks, so
    it had written few or none of the rows it was handed; the resumed launch uploads the kept
    events W&B lacks (steps 5 to 20) before its own, and W&B holds every event once. Then
    ``force=true``: a new W&B run with a new id; the old one's logs are left as they were."""
    workspace = Workspace.create(tmp_path)
    run_dir, run_id = killed_after(workspace, WANDB_RUN, home, 25)

    resumed = workspace.run(WANDB_RUN, env=offline_env(home))
    assert resumed.returncode == 0, resumed.describe()
    assert (run_dir / "wandb_id").read_text().strip() == run_id
    runs = offline_runs(run_dir)
    assert len(runs) == 2, runs
    assert all((run / f"run-{run_id}.wandb").is_file() for run in runs)
    records = inspect(runs[-1], home)
    assert the_run(records)["run_id"] == run_id
    assert final_summary(records)["status"] == "finished"
    events = read_metrics(run_dir)
    assert_mirrors(all_rows(run_dir, run_id, home), events)

    old_logs = {path: path.read_bytes() for path in run_dir.glob("wandb/offline-run-*/*.wandb")}
    forced = workspace.run((*WANDB_RUN, "force=true"), env=offline_env(home))
    assert forced.returncode == 0, forced.describe()
    new_id = (run_dir / "wandb_id").read_text().strip()
    assert new_id and new_id != run_id
    assert offline_runs(run_dir, run_id) == runs
    assert {path: path.read_bytes() for path in old_logs} == old_logs
    (new_run,) = offline_runs(run_dir, new_id)
    new_records = inspect(new_run, home)
    assert the_run(new_records)["run_id"] == new_id
    assert_mirrors(rows(new_records), read_metrics(run_dir))


@pytest.mark.slow
def test_a_resumed_run_logs_to_wandb_only_the_steps_it_does_not_hold(
    tmp_path: Path, home: Path
) -> None:
    """Killed after step 199 (checkpoint at 100): ``wandb`` has written some of the rows after
    step 100 (its log's full blocks), which the resumed launch trains and logs again; the
    mirror skips those, so each step is in W&B once."""
    workspace = Workspace.create(tmp_path)
    overrides = (*(o for o in LONG_RUN if not o.startswith("checkpoint_every=")),
                 "checkpoint_every=100", "logger=wandb")  # fmt: skip
    run_dir, run_id = killed_after(workspace, overrides, home, 199)
    (first,) = offline_runs(run_dir, run_id)
    held = len(rows(inspect(first, home)))

    resumed = workspace.run(overrides, env=offline_env(home))
    assert resumed.returncode == 0, resumed.describe()
    events = read_metrics(run_dir)
    kept = sum(event["step"] <= 100 for event in events)  # what the checkpoint at 100 kept
    assert held > kept, "W&B held no row that the resumed launch logs again: nothing tested"
    found = all_rows(run_dir, run_id, home)
    assert_mirrors(
        [{k: v for k, v in row.items() if k != "time"} for row in found], science(events)
    )
    assert len(rows(inspect(offline_runs(run_dir, run_id)[-1], home))) == len(events) - held


@pytest.fixture
def credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch HOME without credentials, a self-hosted ``WANDB_BASE_URL``."""
    for key in ("WANDB_API_KEY", "WANDB_MODE", "NETRC"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("WANDB_BASE_URL", SELF_HOSTED)
    return tmp_path


def write_netrc(path: Path, machine: str) -> None:
    path.write_text(f"machine {machine}\n  login user\n  password {'k' * 40}\n")
    path.chmod(0o600)


def wandb_finds_a_key() -> bool:
    """wandb's own answer: an API key in the environment or its netrc reader's."""
    from wandb.sdk.lib.wbauth.wbnetrc import read_netrc_auth

    base_url = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")
    return bool(os.environ.get("WANDB_API_KEY")) or read_netrc_auth(host=base_url) is not None


def test_auto_mode_is_online_only_with_the_credentials_wandb_would_use(
    credentials: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The netrc entry must be for the host of ``WANDB_BASE_URL``, in the file wandb reads
    (``NETRC``, else ``~/.netrc``); each answer agrees with wandb's own reader."""
    home_netrc, elsewhere = credentials / ".netrc", credentials / "elsewhere.netrc"

    def expect(online: bool) -> None:
        mode, reason = resolve_mode("auto")
        assert wandb_finds_a_key() is online
        assert (mode == "online") is online and (missing_credentials() is None) is online
        if not online:
            assert mode == "offline" and "wandb.example.org" in reason, reason

    expect(online=False)  # no netrc file at all
    write_netrc(home_netrc, "api.wandb.ai")
    expect(online=False)  # an entry for another host does not count
    mode, reason = resolve_mode("auto")
    assert reason == (
        f"no WANDB_API_KEY and no {home_netrc} entry for wandb.example.org (WANDB_BASE_URL)"
    )
    write_netrc(home_netrc, "wandb.example.org")
    expect(online=True)
    monkeypatch.setenv("NETRC", str(elsewhere))  # NETRC wins over ~/.netrc
    expect(online=False)
    write_netrc(elsewhere, "wandb.example.org")
    expect(online=True)
    monkeypatch.setenv("WANDB_BASE_URL", f"{SELF_HOSTED}:8443")  # the machine is host:port
    expect(online=False)
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    expect(online=True)
    monkeypatch.delenv("WANDB_API_KEY")
    monkeypatch.delenv("WANDB_BASE_URL")
    write_netrc(elsewhere, "api.wandb.ai")
    expect(online=True)  # the default host
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert resolve_mode("auto") == ("offline", "WANDB_MODE=offline")


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


def test_the_wandb_summary_holds_the_objective_and_the_time_to_target(
    offline: Finished, records: list[dict[str, Any]]
) -> None:
    """The sweep's objective (best val/acc of a finished run) and ``target/…`` as in
    ``summary.json`` (its null fields left out)."""
    assert offline.run_dir is not None
    local = read_summary(offline.run_dir)
    mirrored = final_summary(records)
    assert mirrored["objective"] == local["best"]["val/acc"]["value"]
    target = local["target"]
    assert target is not None
    for key, value in target.items():
        assert mirrored.get(f"target/{key}") == value, key
    assert {"target/metric", "target/value", "target/reached"} <= mirrored.keys()
