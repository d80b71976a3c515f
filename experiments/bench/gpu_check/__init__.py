"""The GPU check of ``python -m scripts.gpu_check`` (docs/gpu_check.md); ``run`` is its sequence."""
