"""How numbers and run lists are written in every output format."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path

from experiments.report.records import RunRecord

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_SEED_SUFFIX = re.compile(r"^(.*)/seed=([^/]+)$")


def decimals_of(*values: float | None) -> int:
    """Enough decimals to show the paper's own precision (at least 2, at most 4)."""
    found = 2
    for value in values:
        if value is not None and math.isfinite(value):
            text = repr(float(value))
            if "e" not in text and "." in text:
                found = max(found, len(text.split(".")[1].rstrip("0")))
    return min(found, 4)


def number(value: float | None, decimals: int = 2, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"


def mean_std(mean: float, std: float, decimals: int) -> str:
    if not math.isfinite(mean):
        return "–"
    if not math.isfinite(std):
        return number(mean, decimals)
    return f"{number(mean, decimals)} ± {number(std, decimals)}"


def interval(low: float, high: float, decimals: int) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "–"
    return f"[{number(low, decimals)}, {number(high, decimals)}]"


def p_value(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    return "< 1e-4" if value < 1e-4 else f"{value:.3g}"


def compact_runs(runs: Iterable[RunRecord]) -> str:
    """Run directories with a common prefix written once: ``sweep/task/opt/lr=0.1/seed={1,2,3}``;
    W&B run ids as a list."""
    prefixes: dict[str, list[str]] = {}
    plain: list[str] = []
    for run in runs:
        match = _SEED_SUFFIX.match(run.name)
        if match is None:
            plain.append(run.name)
        else:
            prefixes.setdefault(match.group(1), []).append(match.group(2))
    parts = [
        f"{prefix}/seed={seeds[0]}" if len(seeds) == 1 else f"{prefix}/seed={{{','.join(seeds)}}}"
        for prefix, seeds in prefixes.items()
    ]
    return " ".join(parts + plain)


def sweep_command(sweep_file: str) -> str:
    """``configs/paper/radam/cifar10_sgd.yaml`` → the command that runs that sweep."""
    name = sweep_file.removeprefix("configs/paper/").removesuffix(".yaml")
    return f"python -m experiments.train -m +paper={name}"


def sweep_commands(sweep_files: Iterable[str]) -> str:
    """The sweep commands, each marked when its file does not exist yet."""
    parts = []
    for sweep_file in dict.fromkeys(sweep_files):
        absent = "" if (PROJECT_ROOT / sweep_file).exists() else " (sweep file not written yet)"
        parts.append(f"`{sweep_command(sweep_file)}`{absent}")
    return " · ".join(parts) or "no sweep yet"


def cost_line(cost: dict[str | None, tuple[float, int]]) -> str:
    """``12.3 GPU-hours (80 runs), 0.1 CPU-hours (4 runs)``; hours are training time."""
    if not cost:
        return "no runs yet"
    labels = {"cuda": "GPU-hours", "cpu": "CPU-hours", None: "hours on an unrecorded device"}
    parts = []
    for device in sorted(cost, key=lambda d: (d is None, str(d))):
        hours, count = cost[device]
        label = labels.get(device, f"{device}-hours")
        parts.append(f"{hours:.2f} {label} ({count} run{'s' if count != 1 else ''})")
    return ", ".join(parts)
