"""The Adam-2k ablation: its sweeps run on digits and the figure aligns Adam-2k's frozen steps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from experiments.report import ablation_figure
from experiments.report.local_runs import load_local_runs
from tests.experiments.cli import train_env
from tests.report.command_line import run_script

FREEZE = 10


def sweep(runs_dir, tmp_path, paper: str, *overrides: str) -> None:
    command = [sys.executable, "-m", "experiments.train", "-m", f"+paper=ablation/{paper}"]
    command += ["launcher=inline", f"runs_dir={runs_dir}", "seed=1", "task.epochs=1", "log_every=5"]
    done = subprocess.run(
        command + list(overrides), cwd=tmp_path, env=train_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_ablation_figure_aligns_adam_2k(tmp_path) -> None:
    runs_dir = tmp_path / "runs"
    sweep(runs_dir, tmp_path, "adam2k_digits_frozen", f"optimizer.freeze_steps={FREEZE}")
    sweep(runs_dir, tmp_path, "adam2k_digits", "optimizer=radam")
    runs = {run.optimizer: run for run in load_local_runs(runs_dir / "ablation_adam2k_digits")}
    assert set(runs) == {"adam_2k", "radam"}
    frozen = ablation_figure.loss_by_step(runs["adam_2k"])
    plain = ablation_figure.loss_by_step(runs["radam"])
    assert min(frozen) == 5 - FREEZE and min(plain) == 5
    assert max(frozen) == max(plain) - FREEZE
    assert ablation_figure.arm_label(runs["adam_2k"]) == "Adam-2k"
    drawn = run_script(
        "plot_ablation", "--runs", runs_dir, "--sweep", "ablation/adam2k_digits", "--out", tmp_path
    )
    assert drawn.returncode == 0, drawn.stdout + drawn.stderr
    paths = [Path(line) for line in drawn.stdout.splitlines()]
    assert [p.name for p in paths] == ["adam2k_ablation.png", "adam2k_ablation.pdf"]
    assert all(p.stat().st_size > 1000 for p in paths)
