"""``make benchmark``: tune every optimizer of a benchmark on every task under the same budget,
run the best settings over seeds, and write the report (``experiments/benchmark/command.py``).

    python -m scripts.benchmark optimizer=custom optimizer._target_=my_pkg.MyOpt
    python -m scripts.benchmark benchmark.budget=smoke optimizer=radam_torch
"""

import sys

from experiments.benchmark.command import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
