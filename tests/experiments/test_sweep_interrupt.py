"""Ctrl-C in a sweep: the terminal's SIGINT reaches the sweep and its runs (one process group);
each running run writes its checkpoint and ends ``interrupted``, the sweep starts nothing more,
prints its closing report and exits 1, with no traceback. A relaunch resumes the runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.experiments.cli import train_env

SWEEP = ("seed=1,2,3", "task.epochs=200", "log_every=5", "checkpoint_every=1000", "device=cpu")


def started(runs_dir: Path) -> list[Path]:
    return [path.parent for path in runs_dir.rglob("metrics.jsonl") if path.stat().st_size > 0]


@pytest.mark.parametrize("launcher", ["local", pytest.param("inline", marks=pytest.mark.slow)])
def test_ctrl_c_stops_the_runs_with_checkpoints_and_reports(tmp_path: Path, launcher: str) -> None:
    runs_dir = tmp_path / "runs"
    one_at_a_time = ["launcher.max_parallel=1"] if launcher == "local" else []
    command = [sys.executable, "-m", "experiments.train", "-m", f"launcher={launcher}",
               *one_at_a_time, f"runs_dir={runs_dir}", *SWEEP]  # fmt: skip
    with open(tmp_path / "out", "w+") as out, open(tmp_path / "err", "w+") as err:
        sweep = subprocess.Popen(
            command, cwd=tmp_path, env=train_env(), stdout=out, stderr=err,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 300
        while not started(runs_dir) and time.monotonic() < deadline and sweep.poll() is None:
            time.sleep(0.5)
        assert started(runs_dir), "no run started"
        os.killpg(sweep.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
        code = sweep.wait(timeout=300)
        out.seek(0), err.seek(0)
        said, errors = out.read(), err.read()
    assert code == 1, f"{said}\n{errors}"
    assert "Traceback" not in said + errors and "KeyboardInterrupt" not in errors
    assert "sweep done" in said and "runs that did not finish:" in said
    stopped = started(runs_dir)
    assert len(stopped) == 1  # one at a time: the others never started
    summary = json.loads((stopped[0] / "summary.json").read_text())
    assert summary["status"] == "interrupted" and (stopped[0] / "checkpoint.pt").is_file()
    assert said.count("the sweep was stopped") == 2  # the two runs it did not start
