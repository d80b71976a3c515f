"""Bring your own optimizer (docs/architecture.md, "an optimizer"): a ``torch.optim.Optimizer``
defined outside the project, importable from the Python path, runs through the same sweep
launcher, run store and table command as the presets:

    PYTHONPATH=<dir> python -m experiments.train -m launcher=local '~optimizer' \\
        +optimizer._target_=my_optimizers.SignSGD +optimizer._partial_=true \\
        +optimizer.lr=0.01,0.001

(``~optimizer`` drops the default preset's keyword arguments, which the class does not take.)
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import torch

from experiments.report.tables_command import TablesRequest, run_tables
from tests.experiments.cli import Workspace, read_summary, train_env

MODULE = '''
import torch


class SignSGD(torch.optim.Optimizer):
    """signSGD (Bernstein et al. 2018): theta <- theta - lr * sign(grad)."""

    def __init__(self, params, lr=0.01):
        super().__init__(params, {"lr": lr, "rule": "sign"})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    param.add_(torch.sign(param.grad), alpha=-group["lr"])
        return loss
'''

CUSTOM = (
    "~optimizer",
    "+optimizer._target_=my_optimizers.SignSGD",
    "+optimizer._partial_=true",
    "+optimizer.lr=0.01,0.001",
)


def test_an_optimizer_from_outside_the_project_sweeps_into_runs_and_tables(
    workspace: Workspace, tmp_path: Path
) -> None:
    module_dir = tmp_path / "user_code"
    module_dir.mkdir()
    (module_dir / "my_optimizers.py").write_text(MODULE)
    path = os.pathsep.join(filter(None, [str(module_dir), os.environ.get("PYTHONPATH")]))
    overrides = ["-m", "launcher=local", *CUSTOM, "max_steps=20", "device=cpu"]
    finished = workspace.run(overrides, env=train_env(PYTHONPATH=path))
    assert finished.returncode == 0, finished.describe()

    runs = {read_summary(run)["overrides"]["optimizer.lr"]: run for run in workspace.run_dirs()}
    assert sorted(runs) == ["0.001", "0.01"]
    for lr, run in runs.items():
        summary = read_summary(run)
        assert summary["status"] == "finished" and summary["optimizer"] == "custom"
        assert summary["overrides"]["optimizer._target_"] == "my_optimizers.SignSGD"
        saved = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
        group = saved["optimizer"]["param_groups"][0]
        assert group["rule"] == "sign" and group["lr"] == float(lr)

    out = tmp_path / "tables"
    request = TablesRequest(
        str(workspace.runs_dir), out, "python -m scripts.make_tables", figures=False
    )
    assert run_tables(request) == 0
    with open(out / "groups.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["optimizer"] == "custom"]
    assert len(rows) == 2
    for row in rows:
        overrides = json.loads(row["overrides"])
        assert overrides["optimizer._target_"] == "my_optimizers.SignSGD"
        summary = read_summary(runs[overrides["optimizer.lr"]])
        assert (row["task"], row["n"], row["finished"]) == ("digits", "1", "1")
        assert float(row["final_mean"]) == summary["final"][summary["headline"]["metric"]]
