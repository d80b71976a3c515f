"""The optimizer benchmark: equal tuning budgets per task × optimizer, then seeds, then the
report (``definition`` reads a benchmark, ``runner`` runs it, ``command`` is the entry)."""
