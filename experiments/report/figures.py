"""The papers' learning curves from runs (PNG + PDF).

Learning curves (RAdam Fig. 4/5, AdaBound Fig. 3/4): training loss and the test metric against
epoch, one line per row of the table (its selected setting), mean over seeds with a ±1 std band.
Learning-rate sensitivity (RAdam Fig. 6 and 7) is ``experiments/report/lr_sensitivity.py``.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from experiments.analyses.figure_files import save_png_and_pdf
from experiments.report.cells import Cell, TableResult
from experiments.report.curves import mean_curve
from experiments.report.grouping import Group

STYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (3, 2, 1, 2, 1, 2)))
MARKERS = ("o", "s", "^", "D", "v", "x", "P", "*")
"""Each line has its own dash pattern and marker as well as its colour, so lines that coincide
(optimizers that train alike) stay distinguishable."""


def _by_task(cells: list[Cell]) -> dict[str, list[Cell]]:
    found: dict[str, list[Cell]] = {}
    for cell in cells:
        found.setdefault(cell.entry.task, []).append(cell)
    return found


def _stem(table: TableResult, kind: str, task: str, tasks: int) -> str:
    return f"{table.spec.name}_{kind}" + (f"_{task}" if tasks > 1 else "")


def learning_curves(table: TableResult, out_dir: Path) -> list[Path]:
    """One figure per task of the table; nothing when no selected setting has logged events."""
    written: list[Path] = []
    tasks = _by_task(table.cells)
    for task, cells in tasks.items():
        metrics = list(dict.fromkeys([*table.spec.curves, *(c.entry.metric for c in cells)]))
        shown: dict[int, tuple[str, Group]] = {}
        for cell in cells:
            if cell.selected is not None and id(cell.selected) not in shown:
                label = cell.entry.label + ("" if cell.setting == "—" else f" ({cell.setting})")
                shown[id(cell.selected)] = (label, cell.selected)
        curves = {
            metric: [(label, mean_curve(g.runs.values(), metric)) for label, g in shown.values()]
            for metric in metrics
        }
        metrics = [m for m in metrics if any(curve for _, curve in curves[m])]
        if not metrics:
            continue
        fig = Figure(figsize=(5.5 * len(metrics), 4.6), layout="constrained")
        axes = fig.subplots(1, len(metrics), squeeze=False)[0]
        handles: dict[str, object] = {}
        for axis, metric in zip(axes, metrics, strict=True):
            for index, (label, curve) in enumerate(curves[metric]):
                if curve is None:
                    continue
                (line,) = axis.plot(
                    curve.epochs,
                    curve.mean,
                    color=f"C{index % 10}",
                    linestyle=STYLES[index % len(STYLES)],
                    marker=MARKERS[index % len(MARKERS)],
                    markevery=max(1, len(curve.epochs) // 8),
                    markersize=4,
                    label=f"{label}, {curve.seeds} seed{'s' if curve.seeds != 1 else ''}",
                )
                handles.setdefault(line.get_label(), line)
                axis.fill_between(
                    curve.epochs,
                    curve.mean - curve.std,
                    curve.mean + curve.std,
                    color=line.get_color(),
                    alpha=0.15,
                    linewidth=0,
                )
            axis.set_xlabel("epoch")
            axis.set_ylabel(metric)
            if metric in table.spec.log_y:
                axis.set_yscale("log")
            axis.grid(alpha=0.3)
        if handles:  # one legend for every panel, below them: it covers no curve
            fig.legend(list(handles.values()), list(handles), loc="outside lower center",
                       ncol=min(3, len(handles)), fontsize=7, frameon=False)  # fmt: skip
        fig.suptitle(
            f"{table.spec.title} — {task}\nmean ± 1 std over seeds (bands); each line has its "
            "own dashes and markers, so lines that coincide stay visible",
            fontsize=9,
        )
        written += save_png_and_pdf(fig, out_dir, _stem(table, "curves", task, len(tasks)))
    return written
