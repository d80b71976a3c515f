"""The GPU check: one command that proves the suite's CUDA paths and measures it
(``python -m scripts.gpu_check``; docs/gpu_check.md says what it runs and how).

Four sections in priority order, each within its share of the budget (``plan``), each written as
JSON as soon as an item finishes (``record``): correctness (``correctness``), the optimizer step
(``optimizer_step``), ResNet-20 throughput (``throughput``), packing (``packing``); then the CUDA
defaults the figures support (``defaults``) and the record with its summary (``run``,
``summary``). Without CUDA the same steps run at tiny sizes on the CPU. A machine without the
pure-Python dependencies installs the carried wheels first (``bootstrap``, ``wheels``).
"""
