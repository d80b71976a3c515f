"""The benchmarks' library: the optimizer step, training throughput, the parameter shapes they
time, and the GPU check (``gpu_check``). The command-line entry points are in ``scripts/``."""
