"""The RAdam §3.1 ablation figure: training loss against update step, Adam-2k aligned.

``python -m scripts.plot_ablation --runs runs --sweep ablation/adam2k_digits [--out DIR]`` reads
the sweep's runs (``configs/paper/ablation/``), averages ``train/loss`` over seeds per arm (the
optimizer preset plus its overrides: Adam, Adam-warmup, Adam-2k, Adam-eps, RAdam) and draws it
against the step. Adam-2k's steps are shifted by its ``freeze_steps`` so its frozen phase sits
at negative steps (the paper indexes those iterations from −1999) and its first parameter update
lines up with the other arms' first.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from experiments.analyses.figure_files import save_png_and_pdf
from scripts.tables.curves import run_events
from scripts.tables.local_runs import load_local_runs
from scripts.tables.records import RunRecord

LABELS = {
    "adamw_radam_paper": "Adam",
    "adam_2k": "Adam-2k",
    "adam_eps": "Adam-eps",
    "radam": "RAdam",
}


def arm_label(run: RunRecord) -> str:
    label = LABELS.get(run.optimizer, run.optimizer)
    if run.overrides.get("schedule/warmup", "none") != "none":
        label += "-warmup"
    return label


def frozen_steps(run: RunRecord) -> int:
    return int(run.overrides.get("optimizer.freeze_steps", 0)) if run.optimizer == "adam_2k" else 0


def loss_by_step(run: RunRecord) -> dict[int, float]:
    shift = frozen_steps(run)
    return {
        event["step"] - shift: float(event["train/loss"])
        for event in run_events(run)
        if "train/loss" in event
    }


def plot(runs: list[RunRecord], out_dir: Path, title: str) -> list[Path]:
    arms: dict[str, list[dict[int, float]]] = defaultdict(list)
    for run in runs:
        arms[arm_label(run)].append(loss_by_step(run))
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label in sorted(arms):
        steps = sorted(set().union(*arms[label]))
        values = np.array([[curve.get(s, np.nan) for s in steps] for curve in arms[label]])
        mean = np.nanmean(values, axis=0)
        ax.plot(steps, mean, label=f"{label} ({len(arms[label])} seeds)")
        ax.fill_between(steps, np.nanmin(values, 0), np.nanmax(values, 0), alpha=0.15)
    ax.axvline(0, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("update step (Adam-2k: frozen steps drawn before 0)")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(fontsize=8)
    paths = save_png_and_pdf(fig, out_dir, "adam2k_ablation")
    plt.close(fig)
    return paths


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--sweep", default="ablation/adam2k_digits")
    parser.add_argument("--out", type=Path, default=None, help="default: results/<sweep>")
    args = parser.parse_args(argv)
    sweep_dir = args.runs / args.sweep.replace("/", "_")
    runs = [run for run in load_local_runs(sweep_dir) if run.status == "finished"]
    if not runs:
        raise SystemExit(f"error: no finished runs under {sweep_dir}; run the sweep first")
    out_dir = args.out or Path("results") / args.sweep.replace("/", "_")
    paths = plot(runs, out_dir, f"RAdam §3.1 ablation: {runs[0].task}")
    for path in paths:
        print(path)
    return paths


if __name__ == "__main__":
    main()
