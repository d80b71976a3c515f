"""``python -m scripts.gpu_check [--out DIR] [--record-dir DIR] [--budget-s S] [--complete]
[--include compile,ddp,fused] [--cpu]``: the GPU record (docs/gpu_check.md)."""

import sys

from experiments.bench.gpu_check.run import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
