"""The RAdam §3.1 ablation figure: training loss against update step, Adam-2k aligned.

``python -m scripts.plot_ablation --runs runs --sweep ablation/adam2k_digits [--out DIR]`` reads
the sweep's runs (``configs/paper/ablation/``), averages ``train/loss`` over seeds per arm and
draws it against the step, Adam-2k's frozen phase at negative steps
(``experiments/report/ablation_figure.py``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from experiments.report.ablation_figure import NoFinishedRuns, plot_sweep


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--sweep", default="ablation/adam2k_digits")
    parser.add_argument(
        "--out", type=Path, default=None, help="default: tables/<sweep> (git-ignored)"
    )
    args = parser.parse_args(argv)
    try:
        paths = plot_sweep(args.runs, args.sweep, args.out)
    except NoFinishedRuns as error:
        raise SystemExit(f"error: {error}") from None
    for path in paths:
        print(path)
    return paths


if __name__ == "__main__":
    main()
