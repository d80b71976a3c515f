"""The variance figure: (a) as RAdam Fig. 9, (b) the µ = 0 simulation against Eq. 2 and Eq. 5."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from experiments.analyses.figure_files import save_png_and_pdf  # noqa: E402

FIRST_PLOTTED_STEP = 5


COINCIDE = 0.05
"""Curves whose variances differ by less than this share at every plotted step coincide (on
the log axis 5% is far thinner than a line)."""


def coinciding_mus(simulated: pd.DataFrame) -> list[list[float]]:
    """Groups of two or more µ whose Var[ψ_t] curves coincide within ``COINCIDE`` at every step
    (with the same draws, µ ≪ 1 barely changes ψ_t: the eye sees one line where there are
    several)."""
    curves = {
        mu: rows.sort_values("t")["var_psi"].to_numpy()
        for mu, rows in simulated.groupby("mu", sort=True)
    }
    groups: list[list[float]] = []
    for mu, curve in curves.items():
        for group in groups:
            reference = curves[group[0]]
            if np.all(np.abs(curve - reference) <= COINCIDE * np.abs(reference)):
                group.append(mu)
                break
        else:
            groups.append([mu])
    return [group for group in groups if len(group) > 1]


def plot_variance(
    simulated: pd.DataFrame, analytic: pd.DataFrame, curves: pd.DataFrame, out_dir: Path
) -> list[Path]:
    """Write ``variance.png`` and ``variance.pdf``; return their paths.

    ``simulated`` has columns mu, t, var_psi, var_rect_psi (one row per µ and step);
    ``analytic`` has rho_t and var_psi_simulated for µ = 0; ``curves`` has rho, exact (Eq. 2)
    and first_order (Eq. 5).
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    mus = sorted(simulated["mu"].unique())
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, len(mus)))
    for colour, mu in zip(colours, mus, strict=True):
        rows = simulated[(simulated["mu"] == mu) & (simulated["t"] >= FIRST_PLOTTED_STEP)]
        left.plot(rows["t"], rows["var_psi"], color=colour, lw=1.2)
        left.plot(rows["t"], rows["var_rect_psi"], color=colour, lw=1.2, ls="--")
    left.set_yscale("log")
    left.set_xlabel("iteration t")
    left.set_ylabel("variance")
    left.set_title(r"(a) Var[$\psi_t$] (solid) and Var[$r_t\psi_t$] (dashed), $g \sim N(\mu, 1)$")
    handles = [
        Line2D([], [], color=colour, label=f"µ = {mu:g}")
        for colour, mu in zip(colours, mus, strict=True)
    ]
    handles += [
        Line2D([], [], color="k", label="without rectification"),
        Line2D([], [], color="k", ls="--", label="with rectification"),
    ]
    left.legend(
        handles=handles, fontsize=8, ncol=2, title="same draws for every µ", title_fontsize=8
    )
    for group in coinciding_mus(simulated[simulated["t"] >= FIRST_PLOTTED_STEP]):
        names = ", ".join(f"{mu:g}" for mu in group)
        left.text(
            0.98, 0.02, f"µ = {names}: one line (they coincide within {COINCIDE:.0%})",
            transform=left.transAxes, fontsize=8, va="bottom", ha="right",
        )  # fmt: skip

    right.plot(
        analytic["rho_t"],
        analytic["var_psi_simulated"],
        color="tab:blue",
        lw=2.5,
        alpha=0.6,
        label=f"simulated (µ = 0, t = {int(analytic['t'].min())}…{int(analytic['t'].max())})",
    )
    right.plot(curves["rho"], curves["exact"], color="k", lw=1.2, label="Eq. 2 (exact)")
    right.plot(
        curves["rho"],
        curves["first_order"],
        color="tab:red",
        lw=1.2,
        ls="--",
        label="Eq. 5 (first order)",
    )
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel(r"$\rho_t$")
    right.set_ylabel(r"Var[$\psi_t$]")
    right.set_title(r"(b) µ = 0: simulation against the Scale-inv-$\chi^2$ forms")
    right.legend(fontsize=8)
    fig.tight_layout()
    paths = save_png_and_pdf(fig, out_dir, "variance")
    plt.close(fig)
    return paths
