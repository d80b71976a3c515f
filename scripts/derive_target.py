"""``python -m scripts.derive_target --runs DIR --task TASK --reference OPT [--reference OPT …]
[--metric val/acc]`` (also ``optrepro-target``)

A task's target derived from finished runs as AlgoPerf does: per reference setting, the median
over seeds of each run's best validation value; the best of those medians. Prints each setting,
the target and the ``task.target`` line to paste into ``configs/task/<task>.yaml``. Logic:
``experiments/report/targets.py``. Exit codes: 0 printed, 2 bad input (no such runs).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from experiments.report.targets import TargetError, derive_from_runs, describe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.derive_target", description=__doc__)
    parser.add_argument("--runs", required=True, type=Path, help="runs directory")
    parser.add_argument("--task", required=True, help="task name, e.g. digits")
    parser.add_argument(
        "--reference", required=True, action="append", help="reference optimizer, repeatable"
    )
    parser.add_argument("--metric", help="validation metric (default: val/<headline metric>)")
    args = parser.parse_args(argv)
    try:
        derived = derive_from_runs(args.runs, args.task, args.reference, args.metric)
    except TargetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(describe(derived)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
