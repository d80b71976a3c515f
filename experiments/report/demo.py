"""The offline demo (``make demo``): what the suite does, in minutes, on a laptop, with no network.

1. the RAdam variance simulation and Reddi et al.'s counterexample (``results/analyses/``);
2. a real sweep on ``digits`` — SGD, Adam, Adam with the untuned warmup, RAdam, AdaBound and
   AMSBound × 3 seeds (``configs/paper/demo/``) — through the entry point, the submitit launcher
   (one process per run, in parallel) and the run store, with the learning-rate probe on;
3. its table, claims and learning curves (the table command's ``run_tables``) next to
   ``results/reference/demo.yaml``, and AdaBound's learning-rate heat map, in ``results/demo/``.

Finished runs are skipped, so a second ``make demo`` only redraws. ``quick`` (one seed, short
analyses) is what a test runs.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from experiments.analyses import counterexample, variance
from experiments.report.lr_probe_figures import plot_run
from experiments.report.tables_command import TablesRequest, run_tables

SWEEPS = ("demo/digits", "demo/digits_warmup")
SWEEP_DIR = "demo_digits"  # both files write one sweep: configs/paper/demo/*.yaml
HEATMAP_RUN = Path(SWEEP_DIR, "digits/adabound/default/seed=1")


class DemoFailed(Exception):
    """A step of the demo failed (its message says which)."""


def run_sweep(name: str, runs: Path, launcher: str, extra: list[str]) -> None:
    command = [sys.executable, "-m", "experiments.train", "-m", f"+paper={name}"]
    command += [f"launcher={launcher}", f"runs_dir={runs}", "diagnostics.lr_probe=true", *extra]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    print("$ python", " ".join(command[1:]), flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, env=environment)
    if done.returncode != 0:
        raise DemoFailed(f"the sweep {name} failed (exit {done.returncode})")
    sweep_dir = runs / SWEEP_DIR
    finished = sum('"finished"' in path.read_text() for path in sweep_dir.rglob("summary.json"))
    print(f"   {finished} finished runs in {sweep_dir} ({time.perf_counter() - started:.0f} s)")


def write_demo_tables(runs: Path, out: Path) -> None:
    """The demo's table, claims and groups (in ``out/demo``) and its learning-rate figures."""
    demo_dir = out / "demo"
    arguments = ["--runs", str(runs / SWEEP_DIR), "--out", str(out), "--paper", "demo"]
    request = TablesRequest(
        runs=str(runs / SWEEP_DIR),
        out=out,
        command=f"python -m scripts.make_tables {shlex.join(arguments)}",
        papers=["demo"],
    )
    code = run_tables(request)
    if code != 0:
        raise DemoFailed(f"make_tables failed (exit {code})")
    for name in ("groups.md", "groups.csv"):  # every group of the demo's runs, beside its table
        (out / name).replace(demo_dir / name)
    for path in plot_run(runs / HEATMAP_RUN, demo_dir):
        print(path)


def run_demo(runs: Path, out: Path, launcher: str = "local", quick: bool = False) -> None:
    """The three steps above; runs go to ``runs``, the results to ``out``."""
    began = time.perf_counter()
    analyses = out / "analyses"
    quick_variance = ["--trajectories", "500", "--steps", "300"] if quick else []
    quick_counter = ["--steps", "3000"] if quick else []
    print("== 1/3 offline analyses", flush=True)
    variance.main([*quick_variance, "--out", str(analyses)])
    counterexample.main([*quick_counter, "--out", str(analyses)])

    print("== 2/3 the digits sweep (6 optimizers × 3 seeds, in parallel)", flush=True)
    extra = ["seed=1"] if quick else []
    for name in SWEEPS:
        run_sweep(name, runs, launcher, extra)

    print("== 3/3 table, claims, learning curves, learning-rate heat map", flush=True)
    write_demo_tables(runs, out)
    print(f"demo done in {time.perf_counter() - began:.0f} s: see {out / 'demo'}/", flush=True)
