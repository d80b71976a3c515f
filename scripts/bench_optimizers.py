"""Time one optimizer step on realistic parameter sets, against torch.optim.

    python -m scripts.bench_optimizers [--device cpu|cuda] [--shapes resnet20,resnet18,...]
        [--steps 50] [--threads N] [--out results/bench/optimizers-<device>.json]

What is timed and how: ``experiments/bench/optimizer_step.py``.
"""

from experiments.bench.optimizer_step import main

if __name__ == "__main__":
    main()
