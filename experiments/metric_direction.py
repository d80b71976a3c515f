"""Which way a metric improves. Torch-free, so the table scripts can share the rule."""

from __future__ import annotations


def metric_mode(name: str) -> str:
    """Whether a larger value of a metric is better ("max") or a smaller one ("min")."""
    leaf = name.rsplit("/", 1)[-1]
    return "min" if leaf in {"loss", "ppl", "nll"} else "max"
