"""Progress output: a bar on a terminal, one plain line every ``log_every`` steps otherwise
(Slurm logs, CI), so long runs always show what they are doing. Throughput is in the task's
unit (samples/s or tokens/s).

A line names its run with a short label (``run_label``: task, optimizer, seed and a hash of the
run's full name), not the full identity, and an evaluation line shows the headline metrics only
(``shown_metrics``); ``metrics.jsonl`` holds everything.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Mapping
from typing import Any

from tqdm import tqdm


def run_label(identity: Mapping[str, Any]) -> str:
    """``task/optimizer/s<seed>#<hash>``, e.g. ``digits/adam/s1#3fa2c1``: short enough for a
    line, and the hash of the run's full name tells apart runs that differ in overrides."""
    digest = hashlib.sha256(str(identity["name"]).encode()).hexdigest()[:6]
    return f"{identity['task']}/{identity['optimizer']}/s{identity['seed']}#{digest}"


def shown_metrics(headline: str, selection: str) -> tuple[str, ...]:
    """The metric names an evaluation line may show, in order of preference: the headline's
    (``acc`` of ``test/acc``), then the selection metric's for evaluations without the headline
    (translation computes BLEU in full evaluations only)."""
    return tuple(dict.fromkeys(metric.rsplit("/", 1)[-1] for metric in (headline, selection)))


def headline_keys(metrics: Mapping[str, float], names: tuple[str, ...]) -> list[str]:
    """The keys ``<split>/<name>`` and ``avg/<split>/<name>`` of the first of ``names`` that
    ``metrics`` has, sorted (``avg/test/acc``, ``test/acc``, ``val/acc``)."""
    for name in names:
        keys = [key for key in metrics if _named(key, name)]
        if keys:
            return sorted(keys)
    return []


def _named(key: str, name: str) -> bool:
    parts = key.split("/")
    plain = len(parts) == 2 or (len(parts) == 3 and parts[0] == "avg")
    return plain and parts[-1] == name


class Progress:
    def __init__(
        self,
        total_steps: int,
        initial_step: int,
        label: str,
        unit: str = "samples",
        enabled: bool = True,
        shown: tuple[str, ...] | None = None,
    ) -> None:
        """``shown``: the metric names evaluation lines show (``shown_metrics``; None: every
        metric)."""
        self.total, self.label, self.unit, self.enabled = total_steps, label, unit, enabled
        self.shown = shown
        self.bar = (
            tqdm(total=total_steps, initial=initial_step, desc=label, dynamic_ncols=True)
            if enabled and sys.stdout.isatty()
            else None
        )

    def update(self, step: int, epoch: float, event: dict[str, Any], per_second: float) -> None:
        """Called at every logged step with the event written to ``metrics.jsonl``."""
        loss, lr = event.get("train/loss"), event.get("train/lr")
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.n = step
            self.bar.set_postfix(
                {"loss": f"{loss:.4f}", "lr": f"{lr:.2e}", f"{self.unit}/s": f"{per_second:.0f}"}
            )
            return
        print(
            f"{self.label} step {step}/{self.total} | epoch {epoch:.2f} | "
            f"loss {loss:.4f} | lr {lr:.3e} | {per_second:.0f} {self.unit}/s",
            flush=True,
        )

    def evaluation(self, step: int, metrics: dict[str, float], note: str = "") -> None:
        """An evaluation line; ``note`` follows the metrics (a partial checkpoint average)."""
        if not self.enabled:
            return
        keys = sorted(metrics) if self.shown is None else headline_keys(metrics, self.shown)
        if not keys:
            return
        text = " ".join(f"{key} {metrics[key]:.4f}" for key in keys) + note
        if self.bar is not None:
            self.bar.write(f"step {step}: {text}")
        else:
            print(f"{self.label} step {step}/{self.total} | {text}", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
