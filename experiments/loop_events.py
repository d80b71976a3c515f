"""Where the loop's events go: ``metrics.jsonl`` (and its W&B mirror) through the recorder, and
the progress output. Every recorded event is stamped with its update, epoch and training time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from experiments.calendar import Calendar
from experiments.loop_meters import TrainingClock
from experiments.progress import Progress
from experiments.runs.recorder import Recorder


@dataclass(frozen=True)
class LoopEvents:
    recorder: Recorder
    progress: Progress
    calendar: Calendar
    clock: TrainingClock

    def record(self, update: int, values: dict[str, Any]) -> None:
        """One event of ``metrics.jsonl`` after ``update`` updates."""
        epoch = self.calendar.epoch_float(update)
        self.recorder.log({"step": update, "epoch": epoch, "time": self.clock.training, **values})

    def evaluation(self, update: int, metrics: dict[str, float]) -> None:
        """An evaluation's event and its progress line (nothing when it measured nothing)."""
        if metrics:
            self.record(update, metrics)
            self.progress.evaluation(update, metrics)

    def close(self) -> None:
        self.progress.close()
        self.recorder.close()
