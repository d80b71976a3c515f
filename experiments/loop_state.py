"""The training loop's state: where training is, what it measured, and the best evaluations.

It saves itself into ``checkpoint.pt`` as plain numbers, lists and dicts
(``torch.load(weights_only=True)`` reads them) and restores itself from there, so a resumed run
continues from the same place with the same records.

``Target`` is a task's time-to-target threshold (``task.target``, AlgoPerf's validation target:
Dahl et al. 2023, "Benchmarking Neural Network Training Algorithms"); the loop state keeps the
first evaluation that reached it (``target_hit``), so the hit survives a checkpoint and a resume.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from experiments.metric_direction import metric_mode


@dataclass(frozen=True)
class Target:
    """A validation metric's value to reach; the direction follows the suite's metric rule
    (``metric_mode``): at least ``value`` for accuracy or BLEU, at most for a loss or ppl."""

    metric: str
    value: float

    @classmethod
    def of(cls, node: Any, eval_splits: tuple[str, ...]) -> Target | None:
        """The target of a recipe's ``task.target`` (the config checks,
        ``experiments.config_checks.check_target``, refused a malformed one); None when it is
        null or when the task does not evaluate its split (a recipe run without a validation
        split, as CIFAR's ``task.val_size=0``: the target is not tracked)."""
        if node is None or str(node["metric"]).split("/")[0] not in eval_splits:
            return None
        return cls(str(node["metric"]), float(node["value"]))

    def reached_by(self, metrics: dict[str, float]) -> bool:
        value = metrics.get(self.metric)
        if value is None or not math.isfinite(value):
            return False
        return value >= self.value if metric_mode(self.metric) == "max" else value <= self.value


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
    target_hit: dict[str, Any] | None = None
    """The first evaluation that reached the target (``record_target``); None before, and in
    checkpoints written before targets existed."""

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

    def record_target(
        self,
        target: Target | None,
        metrics: dict[str, float],
        epoch: float,
        time_train: float,
        units: float,
    ) -> None:
        """Keep the first evaluation reaching ``target``: its update, epoch, training seconds
        (evaluations excluded, as AlgoPerf times) and units trained. A hit recorded for another
        target (the recipe's target changed between a kill and the resume) no longer counts; the
        first later evaluation reaching the new one replaces it (earlier ones are not re-read)."""
        if target is None or self.hit_of(target) is not None or not target.reached_by(metrics):
            return
        self.target_hit = {
            "metric": target.metric,
            "value": target.value,
            "update": self.update,
            "epoch": epoch,
            "time_train": time_train,
            "units": units,
        }

    def hit_of(self, target: Target) -> dict[str, Any] | None:
        hit = self.target_hit
        if hit is None or (hit["metric"], hit["value"]) != (target.metric, target.value):
            return None
        return hit

    def target_summary(self, target: Target | None) -> dict[str, Any] | None:
        """``summary.json``'s ``target``: None without a target; ``reached: false`` and nulls
        when no evaluation reached it."""
        if target is None:
            return None
        hit = self.hit_of(target) or {}
        return {
            "metric": target.metric,
            "value": target.value,
            "reached": bool(hit),
            **{key: hit.get(key) for key in ("update", "epoch", "time_train", "units")},
        }


def _improves(metric: str, value: float, best: float | None) -> bool:
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    return (value > best) == (metric_mode(metric) == "max")  # a tie moves a "min" best later
