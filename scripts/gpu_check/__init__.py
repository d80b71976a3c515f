"""``python -m scripts.gpu_check`` (``make gpu-check``) and ``python -m scripts.gpu_check.wheels``
(``make gpu-wheels``): entry points of ``experiments.bench.gpu_check`` (docs/gpu_check.md)."""
