"""One run as the tables see it: identity, status, metrics and cost, from ``summary.json`` or W&B.

Everything the tables group by is in ``summary.json`` (docs/architecture.md), so a record is built
from that file alone; ``meta.json`` is read only when a table asks for the device (GPU- vs CPU-
hours), and ``metrics.jsonl`` only for learning curves."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experiments.config_dir import CONFIG_DIR

STATUSES_UNFINISHED = frozenset({"running", "interrupted", "incomplete"})
"""``incomplete``: a run directory without a readable ``summary.json`` (killed before it wrote
one, or unreadable)."""

STATISTICS = ("final", "best_epoch", "at_best")


@dataclass(slots=True)
class RunRecord:
    name: str
    """The run directory relative to the runs root (local), or the W&B run id."""
    sweep: str
    task: str
    optimizer: str
    seed: int | None
    overrides: dict[str, str]
    status: str
    source: str = "local"
    setting: str | None = None
    """The digest of the run's resolved science without seed and sweep (``summary.json``'s
    ``setting``; None for runs written before it was recorded)."""
    headline: str | None = None
    final: dict[str, float] = field(default_factory=dict)
    best: dict[str, float] = field(default_factory=dict)
    best_epoch: dict[str, float | None] = field(default_factory=dict)
    at_best: dict[str, float] = field(default_factory=dict)
    """Every metric at the evaluation where the task's selection metric was best."""
    steps: int | None = None
    epochs: float | None = None
    time_total: float | None = None
    time_optimizer: float | None = None
    peak_memory_bytes: int | None = None
    diverged_at: int | None = None
    error: str | None = None
    path: Path | None = None
    """The local run directory (for ``meta.json`` and ``metrics.jsonl``); None for W&B."""
    device: str | None = None
    """Device type (cuda | cpu | ...); None until known (see ``device_type``)."""
    config: dict[str, Any] | None = None
    history: Callable[[], Iterable[Mapping[str, Any]]] | None = None
    """W&B only: the run's logged events (learning curves)."""

    def value(self, metric: str, statistic: str) -> float | None:
        """The run's ``metric`` under the paper's statistic: the last evaluation (``final``),
        the best evaluation over training (``best_epoch``), or its value at the evaluation where
        the task's selection metric was best (``at_best``, e.g. test BLEU at the best validation
        loss)."""
        table = {"final": self.final, "best_epoch": self.best, "at_best": self.at_best}[statistic]
        value = table.get(metric)
        return float(value) if isinstance(value, int | float) else None

    def device_type(self) -> str | None:
        """``summary.json`` ``device`` when present, else ``meta.json`` ``device.type``."""
        if self.device is None and self.path is not None:
            try:
                meta = json.loads((self.path / "meta.json").read_bytes())
                self.device = str(meta["device"]["type"])
            except (OSError, ValueError, KeyError, TypeError):
                self.device = None
        return self.device


def _device_from(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("type")
    return str(value) if value else None


def record_from_summary(summary: Mapping[str, Any], name: str, path: Path | None) -> RunRecord:
    """A record from the contents of one ``summary.json`` (keys: docs/architecture.md)."""
    best = summary.get("best") or {}
    headline = summary.get("headline") or {}
    return RunRecord(
        name=name,
        sweep=str(summary.get("sweep", "")),
        task=str(summary.get("task", "")),
        optimizer=str(summary.get("optimizer", "")),
        seed=summary.get("seed"),
        overrides={str(k): str(v) for k, v in (summary.get("overrides") or {}).items()},
        status=str(summary.get("status", "incomplete")),
        setting=summary.get("setting"),
        headline=headline.get("metric"),
        final=dict(summary.get("final") or {}),
        best={k: b["value"] for k, b in best.items() if isinstance(b, Mapping)},
        best_epoch={k: b.get("epoch") for k, b in best.items() if isinstance(b, Mapping)},
        at_best=dict((summary.get("at_best") or {}).get("metrics") or {}),
        steps=summary.get("steps"),
        epochs=summary.get("epochs"),
        time_total=summary.get("time_total"),
        time_optimizer=summary.get("time_optimizer"),
        peak_memory_bytes=summary.get("peak_memory_bytes"),
        diverged_at=summary.get("diverged_at"),
        error=summary.get("error"),
        path=path,
        device=_device_from(summary.get("device")),
    )


def config_group_keys(config_dir: Path = CONFIG_DIR) -> list[str]:
    """The config groups (``schedule``, ``schedule/warmup``, ...): the override keys that
    contain ``/``, which ``parse_run_name`` needs to read a run directory's name back."""
    if not config_dir.is_dir():
        return []
    return sorted(str(p.relative_to(config_dir)) for p in config_dir.rglob("*") if p.is_dir())
