"""The training loop's state: where training is, what it measured, and the best evaluations.

It saves itself into ``checkpoint.pt`` as plain numbers, lists and dicts
(``torch.load(weights_only=True)`` reads them) and restores itself from there, so a resumed run
continues from the same place with the same records.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from experiments.metric_direction import metric_mode


@dataclass
class LoopState:
    update: int = 0
    """Optimizer updates done."""
    epoch: int = 0
    position: int = 0
    """Global micro-batches (one batch of every rank together) of ``epoch`` already trained."""
    evaluations: int = 0
    evaluated_at: int = -1
    """The update of the latest evaluation."""
    units: float = 0.0
    """Units (samples or tokens, all ranks) trained so far."""
    time: float = 0.0
    """Seconds of training (evaluations and checkpoints excluded), across resumes; the loop's
    ``TrainingClock`` keeps the three times and records them here for a checkpoint or the end."""
    time_optimizer: float = 0.0
    time_wall: float = 0.0
    """Wall-clock seconds of the run (training, evaluation, checkpoints), across resumes."""
    window: dict[str, float] = field(default_factory=dict)
    """The open log window's sums (``TrainMeter.state``), saved with a checkpoint."""
    since_evaluation: dict[str, float] = field(default_factory=dict)
    """Sums of the logged windows' means since the latest evaluation, and their count
    (``@windows``): what ``trained_means`` hands the next evaluation."""
    best: dict[str, dict[str, float]] = field(default_factory=dict)
    final: dict[str, float] = field(default_factory=dict)
    at_best: dict[str, Any] = field(default_factory=dict)
    """Every metric of the evaluation where the task's selection metric was best."""

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> LoopState:
        return cls(**state)

    def add_window(self, means: dict[str, float]) -> None:
        """A logged window's per-unit means (``train_step``'s ``loss`` and statistics)."""
        for key, value in means.items():
            self.since_evaluation[key] = self.since_evaluation.get(key, 0.0) + value
        self.since_evaluation["@windows"] = self.since_evaluation.get("@windows", 0.0) + 1

    def trained_means(self) -> dict[str, float]:
        """The mean of the logged windows' means since the latest evaluation (empty if none)."""
        sums = dict(self.since_evaluation)
        count = sums.pop("@windows", 0.0)
        return {key: value / count for key, value in sums.items()} if count else {}

    def advance(self, micro_batches: int, in_epoch: int) -> bool:
        """One update of ``micro_batches`` global micro-batches done, in an epoch of ``in_epoch``;
        returns whether it ended the epoch (the next update starts the next one)."""
        self.update, self.position = self.update + 1, self.position + micro_batches
        if self.position < in_epoch:
            return False
        self.epoch, self.position = self.epoch + 1, 0
        return True

    def record_evaluation(self, metrics: dict[str, float], selection: str, epoch: float) -> None:
        """Keep the latest evaluation, each metric's best, and the snapshot at the best
        ``selection`` (non-finite values never count as best)."""
        for key, value in metrics.items():
            if _improves(key, value, self.best.get(key, {}).get("value")):
                self.best[key] = {"value": value, "step": self.update, "epoch": epoch}
        chosen = metrics.get(selection)
        if chosen is not None and _improves(selection, chosen, self.at_best.get("value")):
            self.at_best = {
                "metric": selection,
                "value": chosen,
                "step": self.update,
                "epoch": epoch,
                "metrics": dict(metrics),
            }
        self.final = dict(metrics)
        self.evaluated_at = self.update
        self.since_evaluation = {}


def _improves(metric: str, value: float, best: float | None) -> bool:
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    return (value > best) == (metric_mode(metric) == "max")  # a tie moves a "min" best later
