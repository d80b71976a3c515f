"""``python -m experiments.train [overrides]``: one run, or a sweep with ``-m``.

Exit codes: 0 finished, diverged or already finished; 2 bad input; 1 anything else.
``torchrun --nproc_per_node N -m experiments.train`` trains with DistributedDataParallel
(``experiments.distributed``). SIGTERM, SIGINT and SIGUSR2 stop a run with a checkpoint at the
next update (with several ranks: at the next log point, where they agree); after SIGUSR2
submitit's handler then requeues the Slurm job (``experiments.runs.signals``). The command line is
``experiments.cli``, the run's lifecycle ``experiments.lifecycle``, the loop ``experiments.loop``.
"""

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
