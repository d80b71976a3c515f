"""Draw what the learning-rate probe recorded in a run (``diagnostics.lr_probe=true``).

``python -m scripts.plot_lr_probe RUN_DIR [--out DIR]`` writes
- ``lr_heatmap.{png,pdf}``: log10 of the effective learning rate of each sampled coordinate
  (rows) at each epoch end (columns), like AdaBound's Fig. 1;
- ``lr_distribution.{png,pdf}``: min, percentiles and max over all coordinates against epoch.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from experiments.report.lr_probe_figures import ProbeUnavailable, plot_run


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="default: the run directory")
    args = parser.parse_args(argv)
    try:
        paths = plot_run(args.run_dir, args.out)
    except ProbeUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(error.exit_code) from None
    for path in paths:
        print(path)
    return paths


if __name__ == "__main__":
    main()
