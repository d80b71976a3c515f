"""Run bookkeeping: from a composed config to a locked run directory (``prepare``), its files and
lock (``store``), its identity (``identity``), ``meta.json`` (``meta``), checkpoints
(``checkpoint``), stop signals (``signals``), and the one recorder behind ``metrics.jsonl``,
W&B and ``summary.json`` (``recorder``, ``wandb_mirror``)."""
