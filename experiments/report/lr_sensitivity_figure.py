"""The learning-rate sensitivity figure (RAdam Fig. 6–7; what it shows and where it is written:
``experiments/report/lr_sensitivity.py``), PNG + PDF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from experiments.analyses.figure_files import save_png_and_pdf
from experiments.metric_direction import metric_mode
from experiments.report import figures
from experiments.report.cells import TableResult
from experiments.report.lr_robustness import points
from experiments.report.lr_sensitivity import (
    STATISTIC_NAMES,
    Lines,
    SweepSensitivity,
    panels,
    table_lines,
)

MARKERS = tuple(marker for marker in figures.MARKERS if marker != "x")
"""The learning curves' markers but the cross, which marks a divergence here."""
STYLES = figures.STYLES


def draw(lines: Lines, panel_list: list[tuple[str, str]], title: str) -> Figure:
    """The figure: one panel per (metric, statistic), x = lr on a log axis."""
    columns = min(2, len(panel_list))
    rows = -(-len(panel_list) // columns)
    fig = Figure(figsize=(5.0 * columns, 3.8 * rows + 0.9), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    handles: dict[str, object] = {}
    diverged_any = False
    for axis, (metric, statistic) in zip(axes, panel_list, strict=False):
        edge = 0.0 if metric_mode(metric) == "max" else 1.0
        for index, (label, groups) in enumerate(lines.items()):
            seen = points(groups, metric, statistic)
            finished = {lr: [v for v in vs if v is not None] for lr, vs in seen.items()}
            xs = [lr for lr, vs in finished.items() if vs]
            color = f"C{index % 10}"
            if xs:
                ys = [float(np.median(finished[lr])) for lr in xs]
                (line,) = axis.plot(xs, ys, color=color, linestyle=STYLES[index % len(STYLES)],
                                    marker=MARKERS[index % len(MARKERS)], markersize=5,
                                    label=label)  # fmt: skip
                handles.setdefault(label, line)
                low = [min(finished[lr]) for lr in xs]
                high = [max(finished[lr]) for lr in xs]
                axis.fill_between(xs, low, high, color=color, alpha=0.15, linewidth=0)
            crosses = [lr for lr, vs in seen.items() if None in vs]
            if crosses:
                diverged_any = True
                axis.plot(crosses, [edge] * len(crosses), linestyle="none", marker="x",
                          markersize=9, markeredgewidth=2, color=color, clip_on=False,
                          transform=axis.get_xaxis_transform())  # fmt: skip
        axis.set_xscale("log")
        axis.set_xlabel("learning rate")
        axis.set_ylabel(metric)
        axis.set_title(f"{metric}, {STATISTIC_NAMES[statistic]}", fontsize=9)
        axis.grid(alpha=0.3)
    for axis in axes[len(panel_list) :]:
        axis.set_visible(False)
    if diverged_any:
        handles["diverged run(s) at that lr (on the worse edge)"] = Line2D(
            [], [], color="black", marker="x", markeredgewidth=2, linestyle="none"
        )
    fig.legend(list(handles.values()), list(handles), loc="outside lower center",
               ncol=min(3, len(handles)), fontsize=7, frameon=False)  # fmt: skip
    fig.suptitle(
        f"{title}: learning-rate sensitivity\nmedian over finished seeds, band min–max",
        fontsize=9,
    )
    return fig


def table_figures(table: TableResult, out_dir: Path) -> list[Path]:
    """``<table>_lr_sensitivity[_<task>]``: one figure per task with rows selected over lr."""
    written: list[Path] = []
    tasks = table_lines(table)
    for task, (lines, leaves) in tasks.items():
        panel_list = panels(leaves, (g for groups in lines.values() for g in groups))
        if not panel_list:
            continue
        stem = f"{table.spec.name}_lr_sensitivity" + (f"_{task}" if len(tasks) > 1 else "")
        fig = draw(lines, panel_list, f"{table.spec.title} — {task}")
        written += save_png_and_pdf(fig, out_dir, stem)
    return written


def sweep_figure(sweep: SweepSensitivity, out_dir: Path) -> list[Path]:
    """``lr_sensitivity_<task>`` of one sweep × task (nothing when no run logged a metric)."""
    groups = [g for line in sweep.lines.values() for g in line]
    panel_list = panels([sweep.leaf], groups)
    if not panel_list:
        return []
    fig = draw(sweep.lines, panel_list, f"sweep {sweep.directory} — {sweep.task}")
    return save_png_and_pdf(fig, out_dir, f"lr_sensitivity_{sweep.task}")
