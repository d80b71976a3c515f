"""The offline demo (``make demo``): what the suite does, in minutes, on a laptop, with no network.

1. the RAdam variance simulation and Reddi et al.'s counterexample (``results/analyses/``);
2. a real sweep on ``digits`` — SGD, Adam, Adam with the untuned warmup, RAdam, AdaBound and
   AMSBound × 3 seeds (``configs/paper/demo/``) — through the entry point, the submitit launcher
   (one process per run, in parallel) and the run store, with the learning-rate probe on;
3. its table, claims and learning curves from ``scripts.make_tables`` next to ``results/reference/
   demo.yaml``, and AdaBound's learning-rate heat map, in ``results/demo/``.

Finished runs are skipped, so a second ``make demo`` only redraws. ``--quick`` (one seed, short
analyses) is what the test runs. The steps: ``experiments/report/demo.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from experiments.report.demo import DemoFailed, run_demo
from experiments.report.lr_probe_figures import ProbeUnavailable


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("runs"))
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--launcher", default="local", choices=["local", "inline"])
    parser.add_argument("--quick", action="store_true", help="1 seed, short analyses")
    args = parser.parse_args(argv)
    try:
        run_demo(args.runs, args.out, args.launcher, args.quick)
    except DemoFailed as error:
        raise SystemExit(f"error: {error}") from None
    except ProbeUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(error.exit_code) from None


if __name__ == "__main__":
    main()
