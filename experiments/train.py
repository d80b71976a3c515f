"""``python -m experiments.train [overrides]``: one run, or a sweep with ``-m``; a thin entry over
``experiments.cli`` (also the ``optrepro-train`` console script). Exit codes, signals and the
run's path through the modules: ``docs/architecture.md``."""

from __future__ import annotations

import signal
import sys


def _stopped_while_starting(signum: int, frame: object) -> None:
    """SIGINT/SIGTERM before the run's own handlers are installed (imports, composing the
    config): one line, no traceback, nothing written."""
    print(f"stopped by signal {signum} before training: nothing was recorded", file=sys.stderr)
    raise SystemExit(128 + signum)


if __name__ == "__main__":  # installed first, so that a signal during the imports is quiet
    signal.signal(signal.SIGINT, _stopped_while_starting)
    signal.signal(signal.SIGTERM, _stopped_while_starting)
    from experiments.cli import main

    main()
