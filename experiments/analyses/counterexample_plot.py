"""The counterexample figure: x_t and the average regret R_t/t, one row per problem.

The gradient repeats with the problem's period (3 or 101 steps), so the raw iterates oscillate
within each period and a long run draws a solid band; each line is the running mean over one
period (where an optimizer is heading), the raw values a faint band behind it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from experiments.analyses.counterexample_problem import OPTIMIZER_NAMES, OnlineLinearProblem  # noqa: E402
from experiments.analyses.figure_files import save_png_and_pdf  # noqa: E402

COLOURS = dict(zip(OPTIMIZER_NAMES, plt.get_cmap("tab10").colors, strict=False))


def plot_counterexample(
    table: pd.DataFrame, problems: Sequence[OnlineLinearProblem], out_dir: Path
) -> list[Path]:
    """Write ``counterexample.png`` and ``.pdf`` from the rows of ``results_table``."""
    fig, axes = plt.subplots(len(problems), 2, figsize=(12, 3.8 * len(problems)), squeeze=False)
    for (iterate_ax, regret_ax), problem in zip(axes, problems, strict=True):
        rows = table[table["problem"] == problem.name]
        for name in OPTIMIZER_NAMES:
            curve = rows[rows["optimizer"] == name]
            # Rasterised: 30,000 points per curve would make a heavy PDF.
            raw = {"color": COLOURS[name], "lw": 0.6, "alpha": 0.2, "rasterized": True}
            style = {"color": COLOURS[name], "lw": 1.2, "label": name, "rasterized": True}
            for ax, column in ((iterate_ax, "x_t"), (regret_ax, "average_regret")):
                ax.plot(curve["t"], curve[column], **raw)
                mean = curve[column].rolling(problem.period, min_periods=1).mean()
                ax.plot(curve["t"], mean, **style)
        iterate_ax.axhline(-1.0, color="k", lw=0.6, ls=":")
        regret_ax.axhline(
            problem.regret_rate_at_plus_one, color="gray", lw=0.8, ls="--", label="limit at x ≡ +1"
        )
        iterate_ax.set_ylim(-1.08, 1.08)
        iterate_ax.set_ylabel(r"$x_t$ (optimum: $-1$)")
        iterate_ax.set_title(
            f"{problem.name}: {problem.title}\nlines: running mean over one period "
            f"({problem.period} steps); faint: every step",
            fontsize=9,
            loc="left",
        )
        regret_ax.set_yscale("log")
        regret_ax.set_ylabel(r"average regret $R_t/t$")
        for ax in (iterate_ax, regret_ax):
            ax.set_xlabel("iteration t")
        iterate_ax.legend(handles=iterate_ax.get_lines()[1::2], fontsize=8)
        regret_ax.legend(handles=regret_ax.get_lines()[-1:], fontsize=8)
    fig.tight_layout()
    paths = save_png_and_pdf(fig, out_dir, "counterexample")
    plt.close(fig)
    return paths
