"""What the learning-rate probe recorded in a run (``diagnostics.lr_probe=true``), drawn:
- ``lr_heatmap.{png,pdf}``: log10 of the effective learning rate of each sampled coordinate
  (rows) at each epoch end (columns), like AdaBound's Fig. 1;
- ``lr_distribution.{png,pdf}``: min, percentiles and max over all coordinates against epoch.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from experiments.analyses.figure_files import save_png_and_pdf


class ProbeUnavailable(Exception):
    """The path has no learning-rate probe events to draw; ``exit_code`` is the command's exit
    status (2: not a run directory, bad input; 1: a run recorded without the probe)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def probe_events(run_dir: Path) -> list[dict]:
    """The run's ``metrics.jsonl`` events that hold probe values."""
    metrics = run_dir / "metrics.jsonl"
    if not metrics.is_file():
        what = "is not a run directory" if not run_dir.is_dir() else "has no metrics.jsonl"
        raise ProbeUnavailable(
            f"{run_dir} {what}: give a run directory of a run launched with "
            "diagnostics.lr_probe=true (runs/<sweep>/<task>/<optimizer>/<overrides>/seed=<s>)",
            exit_code=2,
        )
    events = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    probed = [event for event in events if any(k.startswith("diag/lr") for k in event)]
    if not probed:
        raise ProbeUnavailable(
            f"{run_dir} has no learning-rate probe events (diagnostics.lr_probe)", exit_code=1
        )
    return probed


def run_label(run_dir: Path) -> str:
    """``<optimizer> on <task>, seed <s> (<overrides>)`` from the run's summary or config."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
    except (OSError, ValueError):
        summary = {}
    optimizer = summary.get("optimizer") or run_dir.parts[-3]
    task = summary.get("task") or run_dir.parts[-4]
    seed = summary.get("seed", run_dir.name.removeprefix("seed="))
    overrides = ", ".join(f"{k}={v}" for k, v in (summary.get("overrides") or {}).items())
    return f"{optimizer} on {task}, seed {seed}" + (f" ({overrides})" if overrides else "")


DEAD_FACTOR = 1e3
"""A coordinate whose effective lr is this many times the epoch's median is taken as dead."""


def dead_coordinates(values: np.ndarray) -> np.ndarray:
    """Cells (coordinate × epoch) at ≥ ``DEAD_FACTOR`` × the epoch's median effective lr: a
    coordinate that has had no gradient (a dead ReLU unit, an unused embedding row) has v = 0,
    so Adam-type optimizers give it lr/ε, orders of magnitude above every live coordinate."""
    with np.errstate(invalid="ignore"):
        median = np.nanmedian(np.where(values > 0, values, np.nan), axis=0, keepdims=True)
        return values >= DEAD_FACTOR * median


def plot_heatmap(events: list[dict], out_dir: Path, label: str = "") -> list[Path]:
    """log10 of each sampled coordinate's effective lr per epoch; dead coordinates (lr/ε) are
    grey and outside the colour scale, which they would otherwise take over."""
    names = [key for key in events[0] if key.startswith("diag/lr/")]
    values = np.array([[event[name] for event in events] for name in names], dtype=float)
    dead = dead_coordinates(values)
    logged = np.log10(np.where((values > 0) & ~dead, values, np.nan))
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(events) + 3), 0.45 * len(names) + 1.5))
    colours = plt.get_cmap("viridis").copy()
    colours.set_bad("lightgrey")
    image = ax.imshow(logged, aspect="auto", cmap=colours, interpolation="nearest")
    ax.set_yticks(range(len(names)), [name.removeprefix("diag/lr/") for name in names], fontsize=7)
    epochs = [event["epoch"] for event in events]
    ticks = range(0, len(epochs), max(1, len(epochs) // 10))
    ax.set_xticks(list(ticks), [f"{epochs[i]:g}" for i in ticks])
    ax.set_xlabel("epoch")
    title = "effective learning rate per sampled coordinate (log10)"
    if dead.any():
        rows = int(dead.any(axis=1).sum())
        title += (
            f"\ngrey: {rows} coordinate(s) at ≥ {DEAD_FACTOR:g}× the epoch's median "
            "(≈ lr/ε: no gradient yet), left out of the colour scale"
        )
    ax.set_title(f"{label}\n{title}" if label else title, fontsize=10)
    for row in range(len(names)):
        for col in range(len(events)):
            if len(events) <= 20 and dead[row, col]:
                ax.text(col, row, "dead", ha="center", va="center", fontsize=6)
            elif len(events) <= 20 and math.isfinite(logged[row, col]):
                ax.text(col, row, f"{logged[row, col]:.1f}", ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=ax, label="log10(lr)")
    paths = save_png_and_pdf(fig, out_dir, "lr_heatmap")
    plt.close(fig)
    return paths


def coinciding_series(values: dict[str, list[float]]) -> list[list[str]]:
    """Groups of series equal (to 1e-6 relative) at every point."""
    groups: list[list[str]] = []
    for key, series in values.items():
        for group in groups:
            if np.allclose(values[group[0]], series, rtol=1e-6, atol=0):
                group.append(key)
                break
        else:
            groups.append([key])
    return [group for group in groups if len(group) > 1]


def plot_distribution(events: list[dict], out_dir: Path, label: str = "") -> list[Path]:
    """Min, percentiles and max against epoch; each series has its own colour, dash pattern and
    marker, so series that coincide (all at a bound of AdaBound, say) stay visible."""
    epochs = [event["epoch"] for event in events]
    fig, ax = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
    keys = [key for key in events[0] if key.startswith("diag/lr_all/")]
    order = sorted(keys, key=lambda k: {"min": -1, "max": 101}.get(k.rsplit("/", 1)[-1], None)
                   or int(k.rsplit("p", 1)[-1]))  # fmt: skip
    colours = plt.get_cmap("plasma")(np.linspace(0.0, 0.85, len(order)))
    styles = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1)), (0, (1, 1)), "-", "--"]
    markers = ["v", "o", "s", "D", "^", "P", "X", "*", "^"]
    values = {key: [max(event[key], 1e-30) for event in events] for key in order}
    coinciding = coinciding_series(values)
    # Markers every few epochs, each series starting at its own offset: coinciding series put
    # their markers on different epochs.
    every = max(2, len(epochs) // 8, *(len(group) for group in coinciding))
    for index, key in enumerate(order):
        name = key.removeprefix("diag/lr_all/")
        ax.plot(epochs, values[key], color=colours[index], linestyle=styles[index % len(styles)],
                marker=markers[index % len(markers)], markersize=5,
                markevery=(index % every, every), markerfacecolor="none",
                linewidth=1.4, label=name)  # fmt: skip
    if coinciding:  # staggered markers show each; say so too
        note = "; ".join(" = ".join(k.removeprefix("diag/lr_all/") for k in g) for g in coinciding)
        ax.text(0.01, 0.01, f"coincide at every epoch: {note}", transform=ax.transAxes,
                fontsize=7, va="bottom")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("effective learning rate")
    title = "distribution of the effective learning rate over all coordinates"
    ax.set_title(f"{label}\n{title}" if label else title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    fig.legend(loc="outside right upper", fontsize=8, title="quantile", title_fontsize=8)
    paths = save_png_and_pdf(fig, out_dir, "lr_distribution")
    plt.close(fig)
    return paths


def plot_run(run_dir: Path, out_dir: Path | None = None) -> list[Path]:
    """Both figures of the run in ``run_dir``, in ``out_dir`` (default: the run directory),
    titled with the run."""
    events = probe_events(run_dir)
    out_dir = out_dir or run_dir
    label = run_label(run_dir)
    return plot_heatmap(events, out_dir, label) + plot_distribution(events, out_dir, label)
