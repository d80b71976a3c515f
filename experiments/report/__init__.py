"""From runs to the papers' tables: loading, grouping, statistics, verdicts, rendering, figures,
the tidy export, the ablation and learning-rate probe figures, and the offline demo.

The commands in ``scripts/`` (``make_tables``, ``export_runs``, ``plot_ablation``,
``plot_lr_probe``, ``demo``) parse their arguments and call this package, so tests and other
commands call the same functions.
"""
