"""A run store that never loses or corrupts a run: each fault that fault injection found,
reproduced with real files, real processes and real signals. The full-disk cases mount a small
tmpfs, which needs root; they are skipped with the reason elsewhere."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.experiments.cli import (
    SHORT_RUN,
    Workspace,
    assert_same_run,
    read_metrics,
    read_summary,
    train_env,
    wait_until,
)

CUT_RUN = ("max_steps=60", "checkpoint_every=5", "device=cpu")
"""Logs every 10 steps: killed after step 57, the checkpoint at 55 saw the whole file."""


def refused(result, *needles: str) -> str:
    """The one line of a refusal (exit 2), which must contain every needle."""
    assert result.returncode == 2, result.describe()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.describe()
    assert "Traceback" not in result.stdout + result.stderr
    for needle in needles:
        assert needle in lines[0], result.describe()
    return lines[0]


def kill_at(workspace: Workspace, overrides: tuple[str, ...], step: int) -> Path:
    killed = workspace.run(overrides, env=train_env(OPTREPRO_FAULT=f"kill-after-step:{step}"))
    assert killed.returncode == -signal.SIGKILL, killed.describe()
    return killed.run_dir


# 1. Resume never pads or corrupts metrics.jsonl -----------------------------------------------


@pytest.mark.slow
def test_a_metrics_file_shorter_than_the_checkpoint_saw_is_refused_not_padded(
    workspace: Workspace,
) -> None:
    run_dir = kill_at(workspace, CUT_RUN, 57)
    metrics = run_dir / "metrics.jsonl"
    metrics.write_bytes(metrics.read_bytes()[:-55])  # 55 bytes cut off, as the fault trial did
    before = metrics.read_bytes()
    line = refused(workspace.run(CUT_RUN), "metrics.jsonl", "force=true")
    assert "checkpoint.pt was written after" in line
    assert metrics.read_bytes() == before, "not padded with NUL bytes, not truncated"
    assert read_summary(run_dir)["status"] == "running", "nothing marked"


@pytest.mark.slow
def test_a_metrics_file_whose_kept_part_is_garbage_is_refused(workspace: Workspace) -> None:
    run_dir = kill_at(workspace, CUT_RUN, 12)
    metrics = run_dir / "metrics.jsonl"
    data = bytearray(metrics.read_bytes())
    saved_at = data.index(b'"step": 10,')  # inside the last line the checkpoint at 10 kept
    data[saved_at : saved_at + 8] = b"\x00" * 8
    metrics.write_bytes(bytes(data))
    refused(workspace.run(CUT_RUN), "metrics.jsonl", "no complete JSON line")


# 2. No race between "already finished?" and the lock ------------------------------------------


def stopped(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "T"


@pytest.mark.slow
def test_a_launch_that_looked_before_a_run_finished_does_not_wipe_it(
    workspace: Workspace,
) -> None:
    """B looks (not finished), builds, and is stopped before the lock; A runs the whole run with
    keep_checkpoint=none; B goes on: under the lock it must find the run finished."""
    overrides = ("max_steps=30", "device=cpu", "keep_checkpoint=none")
    late = workspace.start(overrides, env=train_env(OPTREPRO_FAULT="stop-before-lock"))
    wait_until(lambda: stopped(late.pid), late, "B stopped at the decision point")
    first = workspace.run(overrides)
    assert first.returncode == 0, first.describe()
    finished = (first.run_dir / "summary.json").read_bytes()
    events = (first.run_dir / "metrics.jsonl").read_bytes()
    os.kill(late.pid, signal.SIGCONT)
    second = late.finish()
    assert second.returncode == 0, second.describe()
    assert "already finished (finished)" in second.stdout
    assert (first.run_dir / "summary.json").read_bytes() == finished
    assert (first.run_dir / "metrics.jsonl").read_bytes() == events


# 3. A full disk is a recorded failure, not a traceback -----------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (root only: skipped elsewhere)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or 'not root'})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """A filler file that leaves ``leave`` bytes free on ``disk``."""
    filler = disk / "filler"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(filler, "wb") as handle:
        handle.write(b"\0" * max(free - leave, 0))
    return filler


def test_a_full_runs_dir_is_refused_in_one_line(tmp_path: Path, small_disk: Path) -> None:
    fill(small_disk, 0)
    workspace = Workspace(cwd=Workspace.create(tmp_path).cwd, runs_dir=small_disk / "runs")
    refused(workspace.run(("max_steps=3", "device=cpu")), "runs_dir", "No space left")
    assert workspace.run_dirs() == [], "nothing half-written is left behind"


def test_a_disk_that_fills_up_mid_run_fails_the_run_and_it_resumes_later(
    tmp_path: Path, small_disk: Path, reference_run
) -> None:
    """Room for the first checkpoint (≈ 175 kB) but not for the second's temporary file."""
    workspace = Workspace(cwd=Workspace.create(tmp_path).cwd, runs_dir=small_disk / "runs")
    filler = fill(small_disk, 330_000)
    failed = workspace.run(SHORT_RUN)
    assert failed.returncode == 1, failed.describe()
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and "No space left" in lines[0] and "resume" in lines[0], lines
    run_dir = failed.run_dir
    summary = read_summary(run_dir)
    assert summary["status"] == "failed" and "No space left" in summary["error"]
    assert not list(run_dir.glob(".*.tmp")), "the partial temporary file was removed"
    assert (run_dir / "checkpoint.pt").exists(), "the previous checkpoint is intact"
    filler.unlink()  # space is back
    resumed = workspace.run(SHORT_RUN)
    assert resumed.returncode == 0, resumed.describe()
    assert "resuming" in resumed.stdout
    assert_same_run(run_dir, reference_run(SHORT_RUN))


# 4. A corrupt run directory gets one line and a way out ----------------------------------------


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Path, dict]:
    """An unfinished run (killed at step 20, its checkpoint at 15) and a copy of its files."""
    workspace = Workspace.create(tmp_path_factory.mktemp("corrupt"))
    run_dir = kill_at(workspace, SHORT_RUN, 20)
    return workspace, run_dir, {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}


def restore(run_dir: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = run_dir / name
        if path.is_dir():
            path.rmdir()
        path.write_bytes(data)


DAMAGES = {
    "truncated-checkpoint": ("checkpoint.pt", lambda p: p.write_bytes(p.read_bytes()[:5000])),
    "garbage-checkpoint": ("checkpoint.pt", lambda p: p.write_bytes(os.urandom(4096))),
    "garbage-config": ("config.yaml", lambda p: p.write_bytes(b"{{{: [\x00 not yaml")),
    "config-not-a-file": ("config.yaml", lambda p: (p.unlink(), p.mkdir())),
    "lock-not-a-file": ("lock", lambda p: (p.unlink(), p.mkdir())),
}


QUICK_DAMAGES = {"truncated-checkpoint", "garbage-config"}
"""The damages ``make test`` tries (one per file kind); ``make test-all`` tries every one."""


@pytest.mark.parametrize(
    "damage",
    [d if d in QUICK_DAMAGES else pytest.param(d, marks=pytest.mark.slow) for d in DAMAGES],
)
def test_a_damaged_run_file_is_refused_naming_it_and_the_ways_out(killed_run, damage) -> None:
    workspace, run_dir, files = killed_run
    name, spoil = DAMAGES[damage]
    spoil(run_dir / name)
    try:
        line = refused(workspace.run(SHORT_RUN), name, "force=true", "restore")
    finally:
        restore(run_dir, files)
    assert str(run_dir) in line
    assert read_summary(run_dir)["status"] == "running"


@pytest.mark.slow
def test_force_starts_a_damaged_run_afresh(tmp_path: Path, reference_run) -> None:
    workspace = Workspace.create(tmp_path)
    run_dir = kill_at(workspace, SHORT_RUN, 20)
    (run_dir / "checkpoint.pt").write_bytes(b"garbage")
    again = workspace.run((*SHORT_RUN, "force=true"))
    assert again.returncode == 0, again.describe()
    assert_same_run(run_dir, reference_run(SHORT_RUN))


@pytest.mark.slow
def test_a_corrupt_meta_json_is_kept_as_a_copy(tmp_path: Path) -> None:
    workspace = Workspace.create(tmp_path)
    run_dir = kill_at(workspace, SHORT_RUN, 20)
    (run_dir / "meta.json").write_text('{"launches": [{"pid": 1}')  # cut off mid-write
    resumed = workspace.run(SHORT_RUN)
    assert resumed.returncode == 0, resumed.describe()
    (copy,) = run_dir.glob("meta.json.corrupt-*")
    assert copy.read_text() == '{"launches": [{"pid": 1}'
    assert "was unreadable" in resumed.stderr
    assert len(json.loads((run_dir / "meta.json").read_text())["launches"]) == 1


@pytest.mark.slow
def test_tables_and_the_sweep_plan_report_a_finished_run_with_a_damaged_record(
    tmp_path: Path,
) -> None:
    from experiments.sweeps import plan as sweep_plan

    workspace = Workspace.create(tmp_path)
    done = workspace.run(("-m", "launcher=inline", "max_steps=20", "device=cpu",
                          "+paper=demo/digits", "seed=1", "optimizer=adam"))  # fmt: skip
    assert done.returncode == 0, done.describe()
    metrics = done.run_dir / "metrics.jsonl"
    metrics.write_bytes(metrics.read_bytes() + b'{"step": 21, "train/lo')
    command = [sys.executable, "-m", "scripts.make_tables", "--runs", str(workspace.runs_dir),
               "--out", str(tmp_path / "tables"), "--paper", "demo", "--no-figures"]  # fmt: skip
    tables = subprocess.run(command, capture_output=True, text=True, env=train_env(), timeout=300)
    assert tables.returncode == 0, tables.stderr
    assert "metrics.jsonl ends in the middle of line" in tables.stderr
    assert "demo_digits/digits/adam/max_steps=20/seed=1" in tables.stderr
    plan = sweep_plan.plan_sweep(
        [f"runs_dir={workspace.runs_dir}", "+paper=demo/digits", "seed=1", "optimizer=adam",
         "max_steps=20", "device=cpu"]
    )  # fmt: skip
    listing = sweep_plan.describe(plan, [])
    assert "finished, but metrics.jsonl ends in the middle of line" in listing


# 5. Signals at any moment -----------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_start_up_ends_quietly(workspace: Workspace, signum: int) -> None:
    launched = workspace.start(("max_steps=3", "device=cpu"))
    time.sleep(0.3)  # still importing torch and composing the config
    launched.process.send_signal(signum)
    done = launched.finish()
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert len(done.stderr.strip().splitlines()) == 1, output
    assert "before training" in done.stderr
    for summary in workspace.runs_dir.rglob("summary.json") if workspace.runs_dir.exists() else []:
        assert read_summary(summary.parent)["status"] not in {"finished", "interrupted"}


@pytest.mark.slow
def test_a_signal_after_the_last_step_leaves_the_run_finished(workspace: Workspace) -> None:
    done = workspace.run(
        ("max_steps=12", "device=cpu"), env=train_env(OPTREPRO_FAULT="signal-after-step:12:SIGTERM")
    )
    assert done.returncode == 0, done.describe()
    summary = read_summary(done.run_dir)
    assert summary["status"] == "finished" and summary["steps"] == 12


def test_a_signal_before_the_last_step_interrupts(workspace: Workspace) -> None:
    done = workspace.run(
        ("max_steps=12", "device=cpu"), env=train_env(OPTREPRO_FAULT="signal-after-step:11:SIGTERM")
    )
    assert done.returncode == 1, done.describe()
    assert read_summary(done.run_dir)["status"] == "interrupted"


# 7. The stored config is the reference for resume ---------------------------------------------


@pytest.mark.slow
def test_a_deleted_config_yaml_does_not_switch_off_the_mismatch_check(tmp_path: Path) -> None:
    """The task config file changes between launches (a recipe edited), and config.yaml is gone:
    the checkpoint's config still refuses the mixed run; with the file restored the run resumes
    and config.yaml is written again."""
    from tests.experiments.cli import CONFIG_DIR

    configs = tmp_path / "configs" / "task"
    configs.mkdir(parents=True)
    recipe = yaml.safe_load((CONFIG_DIR / "task" / "digits.yaml").read_text())
    recipe["task"]["name"] = "my_digits"
    (configs / "my_digits.yaml").write_text("# @package _global_\n" + yaml.safe_dump(recipe))
    overrides = (f"hydra.searchpath=[file://{tmp_path / 'configs'}]", "task=my_digits",
                 *SHORT_RUN)  # fmt: skip
    workspace = Workspace.create(tmp_path / "ws")
    run_dir = kill_at(workspace, overrides, 20)
    (run_dir / "config.yaml").unlink()
    original = (configs / "my_digits.yaml").read_text()
    (configs / "my_digits.yaml").write_text(original.replace("batch_size: 32", "batch_size: 16"))
    refused(workspace.run(overrides), "task.batch_size", "checkpoint.pt")
    assert not (run_dir / "config.yaml").exists()
    (configs / "my_digits.yaml").write_text(original)
    resumed = workspace.run(overrides)
    assert resumed.returncode == 0, resumed.describe()
    assert "rewritten from checkpoint.pt" in resumed.stdout
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["task"]["batch_size"] == 32
    assert read_metrics(run_dir)[-1]["step"] == 80
