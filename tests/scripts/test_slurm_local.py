"""Sweeps on a real Slurm: scripts/slurm_local.sh brings up a single-node cluster, and
``launcher=slurm`` (Hydra's submitit_slurm) submits a sweep to it as a job array.

Preemption (``make test``): ``scancel --signal=USR2`` is Slurm's warning before a time limit or a
preemption; the run checkpoints, submitit requeues the job, and the requeued job resumes to the
same metrics as an uninterrupted run. A real one-minute time limit is the slow variant.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest

from tests.experiments.cli import (
    LONG_RUN,
    TIMEOUT_S,
    Workspace,
    assert_same_run,
    read_metrics,
    read_summary,
    train_env,
    wait_for_metrics,
)
from tests.scripts.conftest import slurm_local

RUN_FILES = {"config.yaml", "meta.json", "metrics.jsonl", "summary.json", "checkpoint.pt", "lock"}


def on_local_cluster(timeout_min: int = 10, **launcher: object) -> list[str]:
    """``launcher=slurm`` with the local cluster's values on the command line; they also replace
    what a site file (configs/launcher/site/slurm.yaml) may set for a real cluster."""
    values = {
        "partition": "local",
        "account": "null",
        "qos": "null",
        "constraint": "null",
        "gpus_per_node": "null",
        "mem_gb": "null",
        "setup": "null",
        "cpus_per_task": 1,
        "timeout_min": timeout_min,
        **launcher,
    }
    return ["launcher=slurm", *(f"hydra.launcher.{key}={value}" for key, value in values.items())]


def slurm_ids(run_dir: Path) -> list[dict[str, str]]:
    """The Slurm ids of each launch of a run, from its meta.json."""
    return [
        launch["slurm"] for launch in json.loads((run_dir / "meta.json").read_text())["launches"]
    ]


@pytest.mark.slow
def test_start_is_idempotent_and_env_reaches_the_cluster(slurm_env: dict[str, str]) -> None:
    again = slurm_local("start")
    assert again.returncode == 0 and "already running" in again.stdout
    status = slurm_local("status")
    assert status.returncode == 0 and "slurmctld: running" in status.stdout
    job = subprocess.run(
        ["srun", "--partition=local", "hostname", "-s"],
        env=train_env(**slurm_env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert job.returncode == 0, job.stderr
    assert job.stdout.strip() == socket.gethostname().split(".")[0]


@pytest.mark.slow
def test_a_sweep_runs_as_one_job_array(slurm_env: dict[str, str], tmp_path: Path) -> None:
    workspace = Workspace.create(tmp_path)
    overrides = ["-m", *on_local_cluster(), "seed=1,2,3,4", "max_steps=20", "device=cpu"]
    finished = workspace.run(overrides, env=train_env(**slurm_env))
    assert finished.returncode == 0, finished.describe()

    runs = {read_summary(run)["seed"]: run for run in workspace.run_dirs()}
    assert sorted(runs) == [1, 2, 3, 4]
    arrays, tasks, jobs = set(), set(), set()
    for run in runs.values():
        assert RUN_FILES <= {path.name for path in run.iterdir()}
        summary = read_summary(run)
        assert summary["status"] == "finished" and summary["steps"] == 20
        assert read_metrics(run)[-1]["step"] == 20
        (ids,) = slurm_ids(run)
        arrays.add(ids["SLURM_ARRAY_JOB_ID"])
        tasks.add(ids["SLURM_ARRAY_TASK_ID"])
        jobs.add(ids["SLURM_JOB_ID"])
    assert len(arrays) == 1 and tasks == {"0", "1", "2", "3"} and len(jobs) == 4
    (array,) = arrays
    logs = workspace.runs_dir / "single" / ".submitit"
    assert {f"{array}_{task}" for task in tasks} <= {path.name for path in logs.iterdir()}


def test_usr2_checkpoints_requeues_and_resumes_to_the_uninterrupted_result(
    slurm_env: dict[str, str], tmp_path: Path
) -> None:
    workspace = Workspace.create(tmp_path / "slurm")
    launched = workspace.start(["-m", *on_local_cluster(), *LONG_RUN], env=train_env(**slurm_env))
    run_dir = wait_for_metrics(launched, lines=20).parent
    (ids,) = slurm_ids(run_dir)
    signal = subprocess.run(
        ["scancel", "--signal=USR2", ids["SLURM_JOB_ID"]], env=train_env(**slurm_env), timeout=60
    )
    assert signal.returncode == 0
    finished = launched.finish()
    assert finished.returncode == 0, finished.describe()

    first, requeued = slurm_ids(run_dir)
    assert requeued["SLURM_JOB_ID"] == first["SLURM_JOB_ID"]
    assert requeued["SLURM_RESTART_COUNT"] == "1"
    reference = Workspace.create(tmp_path / "reference").run(list(LONG_RUN))
    assert reference.returncode == 0 and reference.run_dir is not None, reference.describe()
    assert_same_run(run_dir, reference.run_dir)


TIME_LIMITED = (
    "task.epochs=400",
    "log_every=100",
    "eval_every=2000",
    "checkpoint_every=2000",
    "device=cpu",
    "deterministic=true",
)
"""16,000 steps: a few minutes of training on two cores, several one-minute time limits."""


@pytest.mark.slow
def test_a_real_time_limit_requeues_until_the_run_finishes(
    slurm_env: dict[str, str], tmp_path: Path
) -> None:
    workspace = Workspace.create(tmp_path / "slurm")
    cluster = on_local_cluster(timeout_min=1, signal_delay_s=25, max_num_timeout=20)
    launched = workspace.start(["-m", *cluster, *TIME_LIMITED], env=train_env(**slurm_env))
    finished = launched.finish(timeout=3 * TIMEOUT_S)
    assert finished.returncode == 0, finished.describe()
    assert finished.run_dir is not None
    launches = slurm_ids(finished.run_dir)
    assert len(launches) >= 2
    assert [launch.get("SLURM_RESTART_COUNT", "0") for launch in launches][:2] == ["0", "1"]
    reference = (
        Workspace.create(tmp_path / "reference").start(list(TIME_LIMITED)).finish(3 * TIMEOUT_S)
    )
    assert reference.returncode == 0 and reference.run_dir is not None, reference.describe()
    assert_same_run(finished.run_dir, reference.run_dir)


@pytest.mark.slow
def test_two_slurm_tasks_train_one_run_with_ddp(slurm_env: dict[str, str], tmp_path: Path) -> None:
    """Several tasks per node: submitit's distributed environment, gloo on CPU, one run whose
    results equal a single process's (the same global batch)."""
    run = ("seed=1", "task.epochs=1", "log_every=5", "device=cpu", "deterministic=true")
    single = Workspace.create(tmp_path / "single")
    reference = single.run(run)
    assert reference.returncode == 0, reference.describe()
    workspace = Workspace.create(tmp_path / "ddp")
    overrides = ["-m", *on_local_cluster(tasks_per_node=2), *run]
    finished = workspace.run(overrides, env=train_env(**slurm_env))
    assert finished.returncode == 0, finished.describe()
    (run_dir,) = workspace.run_dirs()
    summary = read_summary(run_dir)
    assert summary["status"] == "finished" and summary["world_size"] == 2
    expected = read_metrics(reference.run_dir)
    got = read_metrics(run_dir)
    assert [e["step"] for e in got] == [e["step"] for e in expected]
    for event, wanted in zip(got, expected, strict=True):
        for key in event.keys() - {"step", "epoch", "time"}:
            assert event[key] == pytest.approx(wanted[key], rel=1e-5, abs=1e-6), key


@pytest.mark.slow
def test_a_sweep_that_asks_for_more_than_the_partition_has_is_reported_not_waited_on(
    slurm_env: dict[str, str], tmp_path: Path
) -> None:
    """More CPUs per task than the node has: Slurm keeps the array pending (PartitionConfig);
    the sweep says so with the reason, cancels it and exits 2 instead of waiting forever."""
    workspace = Workspace.create(tmp_path)
    too_many = on_local_cluster(cpus_per_task=64)
    done = workspace.run(["-m", *too_many, "seed=1,2", "max_steps=5", "device=cpu"],
                         env=train_env(**slurm_env))  # fmt: skip
    assert done.returncode == 2, done.describe()
    assert done.stdout.count("never started") >= 2 and "PartitionConfig" in done.stdout
    assert "cancelled" in done.stdout and "2 never started" in done.stdout


@pytest.mark.slow
def test_without_waiting_a_sweep_returns_with_the_command_that_reports_later(
    slurm_env: dict[str, str], tmp_path: Path
) -> None:
    workspace = Workspace.create(tmp_path)
    done = workspace.run(
        ["-m", *on_local_cluster(), "launcher.wait=false", "seed=1", "max_steps=5", "device=cpu"],
        env=train_env(**slurm_env),
    )
    assert done.returncode == 0, done.describe()
    assert "submitted 1 runs as Slurm job array" in done.stdout
    assert "report later with `python -m scripts.sweep_plan" in done.stdout
