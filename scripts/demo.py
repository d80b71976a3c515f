"""The offline demo (``make demo``): what the suite does, in minutes, on a laptop, with no network.

1. the RAdam variance simulation and Reddi et al.'s counterexample (``results/analyses/``);
2. a real sweep on ``digits`` — SGD, Adam, Adam with the untuned warmup, RAdam, AdaBound and
   AMSBound × 3 seeds (``configs/paper/demo/``) — through the entry point, the submitit launcher
   (one process per run, in parallel) and the run store, with the learning-rate probe on;
3. its table, claims and learning curves from ``scripts.make_tables`` next to ``results/reference/
   demo.yaml``, and AdaBound's learning-rate heat map, in ``results/demo/``.

Finished runs are skipped, so a second ``make demo`` only redraws. ``--quick`` (one seed, one
seed, short analyses) is what the test runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from experiments.analyses import counterexample, variance
from scripts import make_tables, plot_lr_probe

SWEEPS = ("demo/digits", "demo/digits_warmup")
SWEEP_DIR = "demo_digits"  # both files write one sweep: configs/paper/demo/*.yaml
HEATMAP_RUN = Path(SWEEP_DIR, "digits/adabound/default/seed=1")


def run_sweep(name: str, runs: Path, launcher: str, extra: list[str]) -> None:
    command = [sys.executable, "-m", "experiments.train", "-m", f"+paper={name}"]
    command += [f"launcher={launcher}", f"runs_dir={runs}", "diagnostics.lr_probe=true", *extra]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    print("$ python", " ".join(command[1:]), flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, env=environment)
    if done.returncode != 0:
        raise SystemExit(f"error: the sweep {name} failed (exit {done.returncode})")
    sweep_dir = runs / SWEEP_DIR
    finished = sum('"finished"' in path.read_text() for path in sweep_dir.rglob("summary.json"))
    print(f"   {finished} finished runs in {sweep_dir} ({time.perf_counter() - started:.0f} s)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--launcher", default="local", choices=["local", "inline"])
    parser.add_argument("--quick", action="store_true", help="1 seed, short analyses")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    analyses = args.out / "analyses"
    quick_variance = ["--trajectories", "500", "--steps", "300"] if args.quick else []
    quick_counter = ["--steps", "3000"] if args.quick else []
    print("== 1/3 offline analyses", flush=True)
    variance.main([*quick_variance, "--out", str(analyses)])
    counterexample.main([*quick_counter, "--out", str(analyses)])

    print("== 2/3 the digits sweep (6 optimizers × 3 seeds, in parallel)", flush=True)
    extra = ["seed=1"] if args.quick else []
    for name in SWEEPS:
        run_sweep(name, args.runs, args.launcher, extra)

    print("== 3/3 table, claims, learning curves, learning-rate heat map", flush=True)
    demo_dir = args.out / "demo"
    code = make_tables.main(
        ["--runs", str(args.runs / SWEEP_DIR), "--out", str(args.out), "--paper", "demo"]
    )
    if code != 0:
        raise SystemExit(f"error: make_tables failed (exit {code})")
    for name in ("groups.md", "groups.csv"):  # every group of the demo's runs, beside its table
        (args.out / name).replace(demo_dir / name)
    plot_lr_probe.main([str(args.runs / HEATMAP_RUN), "--out", str(demo_dir)])
    print(f"demo done in {time.perf_counter() - began:.0f} s: see {demo_dir}/", flush=True)


if __name__ == "__main__":
    main()
