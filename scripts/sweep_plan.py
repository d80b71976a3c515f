"""``python -m scripts.sweep_plan +paper=radam/cifar10_sgd [overrides]``: a sweep, before
launching (``experiments.sweeps.plan``). Exit codes: 0 planned, 2 bad input."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from hydra.errors import HydraException

from experiments.config_checks import ConfigError, composition_error
from experiments.sweeps import plan


def main(argv: Sequence[str] | None = None) -> int:
    arguments = [
        a for a in (sys.argv[1:] if argv is None else argv) if a not in ("-m", "--multirun")
    ]
    if any(a in ("-h", "--help") for a in arguments):
        print(plan.__doc__)
        return 0
    try:
        planned = plan.plan_sweep(arguments)
    except HydraException as error:
        print(f"error: {composition_error(error, arguments)}", file=sys.stderr)
        return 2
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(plan.describe(planned, arguments))
    return 0


if __name__ == "__main__":
    sys.exit(main())
