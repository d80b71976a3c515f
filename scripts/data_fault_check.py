"""The damaged-data fault trial over tiny PTB, One Billion Word and IWSLT'14 corpora.

``python -m scripts.data_fault_check [--corpora ptb lm1b iwslt14] [--cases TEXT ...] [--jobs 2]
[--out FILE]``

Each raw file and cache member is damaged every way (overwritten in place, truncated, deleted,
unreadable to a non-root user, undecodable bytes, a manifest holding a list), an evaluation split
is emptied, the data directory made read-only before its cache exists, and a training file
replaced between a SIGKILL and the resume; each case runs through ``python -m experiments.train``
and is classified against an undamaged reference run (``experiments.data_faults``). Prints one
line per case and ``n as promised / n tried``; exit 0 only when every case was as promised.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from experiments.data_faults.corpora import CORPORA
from experiments.data_faults.trial import Outcome, closing_lines, run_trial, write_record


def show(outcome: Outcome) -> None:
    mark = "ok " if outcome.as_promised else "NOT"
    print(f"{mark} {outcome.verdict:9} {outcome.label} | {outcome.detail}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", nargs="+", choices=sorted(CORPORA), default=list(CORPORA))
    parser.add_argument(
        "--cases", nargs="+", default=None, help="only the cases whose line holds one of these"
    )
    parser.add_argument("--jobs", type=int, default=2, help="cases run at a time (default 2)")
    parser.add_argument("--out", type=Path, default=None, help="a JSON record of every case")
    args = parser.parse_args(argv)
    began = time.monotonic()
    try:
        outcomes = run_trial(
            args.corpora,
            jobs=args.jobs,
            select=lambda case: not args.cases or any(text in case.label for text in args.cases),
            report=show,
        )
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in closing_lines(outcomes):
        print(line)
    if args.out is not None:
        write_record(outcomes, args.out)
        print(f"record: {args.out}")
    print(f"done in {time.monotonic() - began:.0f} s")
    return 0 if all(outcome.as_promised for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
