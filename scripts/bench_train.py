"""Training throughput per task, and the loop's overhead against a bare loop.

``python -m scripts.bench_train [--tasks digits,cifar10_resnet20,...] [--device cpu|cuda]
[--steps N] [--repeats R] [--set KEY=VALUE ...] [--out FILE]``

What is timed and how: ``experiments/bench/train_throughput.py``.
"""

from experiments.bench.train_throughput import main

if __name__ == "__main__":
    main()
