"""The RAdam §3.1 ablation figure: training loss against update step, Adam-2k aligned.

The sweep's runs (``configs/paper/ablation/``) are averaged over seeds per arm (the optimizer
preset plus its overrides: Adam, Adam-warmup, Adam-2k, Adam-eps, RAdam) and drawn against the
step. Adam-2k's steps are shifted by its ``freeze_steps`` so its frozen phase sits at negative
steps (the paper indexes those iterations from −1999) and its first parameter update lines up
with the other arms' first.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from experiments.analyses.figure_files import save_png_and_pdf
from experiments.report.curves import run_events
from experiments.report.local_runs import load_local_runs
from experiments.report.records import RunRecord

LABELS = {
    "adamw_radam_paper": "Adam",
    "adam_2k": "Adam-2k",
    "adam_eps": "Adam-eps",
    "radam": "RAdam",
}


class NoFinishedRuns(Exception):
    """The sweep has no finished run to draw."""


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


def plot_sweep(runs_dir: Path, sweep: str, out_dir: Path | None = None) -> list[Path]:
    """The figure of the sweep ``sweep`` (``ablation/adam2k_digits``) under ``runs_dir``, in
    ``out_dir`` (default: ``tables/<sweep>``, git-ignored like every table)."""
    sweep_dir = runs_dir / sweep.replace("/", "_")
    runs = [run for run in load_local_runs(sweep_dir) if run.status == "finished"]
    if not runs:
        raise NoFinishedRuns(f"no finished runs under {sweep_dir}; run the sweep first")
    out_dir = out_dir or Path("tables") / sweep.replace("/", "_")
    return plot(runs, out_dir, f"RAdam §3.1 ablation: {runs[0].task}")
