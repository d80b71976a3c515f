"""A sweep says what happened: a line per run as it ends,
the counts per outcome and one line per run that did not finish, and an exit code that is non-zero
when a run failed or was refused (a diverged run is a result); finished runs are skipped without
a process; ``launcher=local`` runs at most as many runs at a time as the cores allow."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.experiments.cli import Workspace, read_summary

QUICK = ("max_steps=10", "log_every=5", "checkpoint_every=10", "device=cpu")
MODELS = "task.model._target_=experiments.models.digits_cnn.DigitsCNN,torch.nn.Bilinear"
"""DigitsCNN trains; ``torch.nn.Bilinear`` cannot even be built without its sizes (a failed
run, recorded as such)."""


def ended_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if re.match(r"\[\d+/\d+\] ", line)]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, object]:
    """A local sweep with a run that finishes and a run that fails."""
    workspace = Workspace.create(tmp_path_factory.mktemp("mixed"))
    return workspace, workspace.run(["-m", *QUICK, MODELS])


def test_a_sweep_reports_each_run_and_exits_1_when_one_failed(mixed) -> None:
    workspace, done = mixed
    assert done.returncode == 1, done.describe()
    lines = ended_lines(done.stdout)
    assert len(lines) == 2 and all(re.match(r"\[[12]/2\] ", line) for line in lines), lines
    assert any("finished" in line and "test/acc" in line for line in lines)
    assert any("failed" in line and "Bilinear" in line for line in lines)
    assert "2 runs, 2 to launch (local, 2 at a time" in done.stdout
    assert re.search(r"sweep done in [\d.]+ min: (1 finished, 1 failed|1 failed, 1 finished)",
                     done.stdout), done.stdout  # fmt: skip
    (unfinished,) = done.stdout.split("runs that did not finish:\n")[1].strip().splitlines()
    assert "torch.nn.Bilinear" in unfinished and "failed:" in unfinished and "log:" in unfinished
    assert not (workspace.runs_dir / "single" / ".submitit" / "%j").exists()


@pytest.mark.slow
def test_a_relaunched_sweep_skips_finished_runs_without_a_process(mixed) -> None:
    workspace, first = mixed
    finished = next(p for p in workspace.run_dirs() if "DigitsCNN" in str(p))
    launches = len(json.loads((finished / "meta.json").read_text())["launches"])
    again = workspace.run(["-m", *QUICK, MODELS, "launcher.max_parallel=1"])
    assert again.returncode == 1, again.describe()
    assert "2 runs, 1 to launch (local, 1 at a time" in again.stdout
    assert "1 runs already finished, skipped (force=true re-runs them)" in again.stdout
    assert len(ended_lines(again.stdout)) == 1
    assert len(json.loads((finished / "meta.json").read_text())["launches"]) == launches


@pytest.mark.slow
def test_runs_refused_inside_their_jobs_make_the_sweep_exit_2(workspace: Workspace) -> None:
    """The data is missing: each job refuses in one line (read back from its log)."""
    done = workspace.run(["-m", "task=cifar10_lenet5", f"data_dir={workspace.cwd}/none",
                          "seed=1,2", *QUICK])  # fmt: skip
    assert done.returncode == 2, done.describe()
    lines = ended_lines(done.stdout)
    assert len(lines) == 2 and all("refused" in line and "CIFAR-10" in line for line in lines)
    assert "2 refused" in done.stdout
    assert workspace.run_dirs() == [], "a refused run leaves no run directory"


def test_a_diverged_run_is_a_result(workspace: Workspace) -> None:
    done = workspace.run(["-m", "launcher=inline", "optimizer=sgd", "optimizer.lr=0.01,1e6",
                          "task.epochs=1", "device=cpu"])  # fmt: skip
    assert done.returncode == 0, done.describe()
    assert any("diverged" in line for line in ended_lines(done.stdout))
    assert re.search(r"1 finished, 1 diverged|1 diverged, 1 finished", done.stdout)


def test_bad_values_in_a_sweep_are_refused_before_any_run_starts(workspace: Workspace) -> None:
    done = workspace.run(["-m", "optimizer.lr=0.001,abc,0.01", *QUICK])
    assert done.returncode == 2, done.describe()
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 2 and "optimizer.lr='abc' is invalid" in errors[0], errors
    assert "1 of 3 runs refused: nothing was launched" in errors[1]
    assert "Traceback" not in done.stderr
    assert not workspace.runs_dir.exists() or workspace.run_dirs() == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["optimizer=radamm,adam"], "did you mean radam"),
        (["optimizer.lrr=0.1,0.01"], "unknown config key 'optimizer.lrr'"),
        (["sweep=..", "seed=1,2"], "outside runs_dir"),
        (["task.batch_size=32,0"], "task.batch_size=0 is invalid"),
    ],
    ids=["group-option-typo", "key-typo", "path-outside-runs-dir", "batch-size-zero"],
)
def test_sweep_typos_and_bad_paths_are_one_line(
    workspace: Workspace, overrides: list[str], expected: str
) -> None:
    done = workspace.run(["-m", "launcher=inline", *QUICK, *overrides])
    assert done.returncode == 2, done.describe()
    assert expected in done.stderr.splitlines()[0], done.describe()
    assert "Traceback" not in done.stderr
    assert not workspace.runs_dir.exists() or workspace.run_dirs() == []


def test_a_runs_dir_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x\n")
    workspace = Workspace(cwd=Workspace.create(tmp_path).cwd, runs_dir=blocker)
    done = workspace.run(["-m", "launcher=inline", *QUICK, "seed=1,2"])
    assert done.returncode == 2, done.describe()
    (line,) = done.stderr.strip().splitlines()
    assert "runs_dir" in line and str(blocker) in line


def test_a_sweeps_finished_run_keeps_its_record(mixed) -> None:
    workspace, _ = mixed
    finished = next(p for p in workspace.run_dirs() if "DigitsCNN" in str(p))
    assert read_summary(finished)["status"] == "finished"
