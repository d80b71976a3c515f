"""The GPU record (issue 15): one command that proves the suite's CUDA paths and measures it.

``python -m scripts.gpu_check`` (``make gpu-check``) runs four sections in priority order, each
within its share of a budget of about five minutes on CUDA (``plan``), each written as JSON as
soon as an item finishes (``record``), so a run cut off by its time limit still returns the
finished ones:

1. correctness (``correctness``): the device pipeline on the device, optimizer state moved
   CPU ↔ device, float64 reference math on the device, the loop without synchronisation between
   log points, bf16 runs, the optimizer tests' CUDA variants through pytest, a compiled step
   against the eager step, two DDP ranks against one process;
2. the optimizer step of every preset against ``torch.optim.Adam(fused=True)`` (``optimizer_step``);
3. ResNet-20 training throughput, the loop's overhead and the implied 164-epoch time
   (``throughput``);
4. packing K members into one process against K processes and a CUDA-graph run (``packing``);

then the CUDA defaults the figures support (``defaults``), ``gpu-<date>.json`` and its Markdown
summary (``summary``). Without CUDA the same steps run at tiny sizes on the CPU and say so
(``tests/scripts/test_gpu_check.py`` runs that mode). On a machine without the pure-Python
dependencies it installs the carried wheels first (``bootstrap``, ``wheels``).
"""
