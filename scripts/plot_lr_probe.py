"""Draw what the learning-rate probe recorded in a run (``diagnostics.lr_probe=true``).

``python -m scripts.plot_lr_probe RUN_DIR [--out DIR]`` writes
- ``lr_heatmap.{png,pdf}``: log10 of the effective learning rate of each sampled coordinate
  (rows) at each epoch end (columns), like AdaBound's Fig. 1;
- ``lr_distribution.{png,pdf}``: min, percentiles and max over all coordinates against epoch.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from experiments.analyses.figure_files import save_png_and_pdf


def probe_events(run_dir: Path) -> list[dict]:
    events = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    probed = [event for event in events if any(k.startswith("diag/lr") for k in event)]
    if not probed:
        raise SystemExit(
            f"error: {run_dir} has no learning-rate probe events (diagnostics.lr_probe)"
        )
    return probed


def plot_heatmap(events: list[dict], out_dir: Path) -> list[Path]:
    names = [key for key in events[0] if key.startswith("diag/lr/")]
    values = np.array([[event[name] for event in events] for name in names], dtype=float)
    logged = np.log10(np.where(values > 0, values, np.nan))
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(events) + 3), 0.45 * len(names) + 1.5))
    image = ax.imshow(logged, aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_yticks(range(len(names)), [name.removeprefix("diag/lr/") for name in names], fontsize=7)
    epochs = [event["epoch"] for event in events]
    ticks = range(0, len(epochs), max(1, len(epochs) // 10))
    ax.set_xticks(list(ticks), [f"{epochs[i]:g}" for i in ticks])
    ax.set_xlabel("epoch")
    ax.set_title("effective learning rate per coordinate (log10)")
    for row in range(len(names)):
        for col in range(len(events)):
            if len(events) <= 20 and math.isfinite(logged[row, col]):
                ax.text(col, row, f"{logged[row, col]:.1f}", ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=ax, label="log10(lr)")
    paths = save_png_and_pdf(fig, out_dir, "lr_heatmap")
    plt.close(fig)
    return paths


def plot_distribution(events: list[dict], out_dir: Path) -> list[Path]:
    epochs = [event["epoch"] for event in events]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    keys = [key for key in events[0] if key.startswith("diag/lr_all/")]
    for key in keys:
        series = [max(event[key], 1e-30) for event in events]
        style = "--" if key.endswith(("min", "max")) else "-"
        ax.plot(epochs, series, style, label=key.removeprefix("diag/lr_all/"))
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("effective learning rate")
    ax.set_title("distribution over all coordinates")
    ax.legend(fontsize=7, ncol=3)
    paths = save_png_and_pdf(fig, out_dir, "lr_distribution")
    plt.close(fig)
    return paths


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="default: the run directory")
    args = parser.parse_args(argv)
    events = probe_events(args.run_dir)
    out_dir = args.out or args.run_dir
    paths = plot_heatmap(events, out_dir) + plot_distribution(events, out_dir)
    for path in paths:
        print(path)
    return paths


if __name__ == "__main__":
    main()
