"""From runs to the papers' tables: loading, grouping, statistics, verdicts, rendering, figures.

``python -m scripts.make_tables`` is the command; this package holds its logic so that tests and
other scripts (the export, the benchmark, ``make demo``) call the same functions.
"""
