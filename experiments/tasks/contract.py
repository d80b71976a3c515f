"""The task contract: what a task owns, what the training loop owns, and how they meet.

A task module exposes ``build(cfg, *, seed, data_dir, device, world) -> Task`` (named by
``task.build``) and optionally ``synthetic(...)`` and ``check_data(cfg, *, data_dir)``; the rules
are in ``docs/architecture.md`` ("The task contract") and in the docstrings below.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from experiments.distributed import World
from experiments.metric_direction import metric_mode


@dataclass
class Batch:
    """One rank's micro-batch. Subclasses add their tensors and implement ``to``."""

    units: int
    """The loss normaliser on this rank: samples, or non-pad target tokens."""
    global_units: int
    """``units`` summed over the ranks of this step."""
    lr_scale: float = field(default=1.0, kw_only=True)
    """Multiplies the schedule's lr for the update this batch starts."""

    def to(self, device: torch.device) -> Batch:
        raise NotImplementedError


@dataclass(frozen=True)
class Budget:
    """How long a recipe trains: ``epochs``, ``updates`` (optimizer steps), or both (whichever
    is reached first)."""

    epochs: int | None = None
    updates: int | None = None

    def __post_init__(self) -> None:
        if self.epochs is None and self.updates is None:
            raise ValueError("a budget needs epochs or updates")


class EvaluationStopped(Exception):
    """A stop signal arrived during an evaluation, which was abandoned: raised by the loop
    between batches (``experiments.loop_evaluation``), and by a task inside a long batch when
    ``Evaluation.stop`` says so (beam search, between decoding steps)."""


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation is: its number in the run (1-based), whether it is the run's last
    (``final``), and whether the task's expensive parts run (``full``). ``trained`` holds the
    mean, over the log windows since the previous evaluation, of each window's ``train_step``
    means (``loss`` and the task's statistics; empty when no window was logged since): a task
    may report training numbers beside its validation ones without keeping state itself."""

    number: int
    final: bool
    full: bool
    trained: Mapping[str, float] = field(default_factory=dict)
    stop: Callable[[], bool] | None = None
    """Whether to abandon the evaluation now (a stop signal; None: never): a task whose batch
    takes long (beam search) asks it inside the batch and raises ``EvaluationStopped``."""


@dataclass(frozen=True)
class CheckpointAverage:
    """Average the parameters of the last ``last`` snapshots for a final evaluation, as fairseq's
    ``average_checkpoints.py``; a snapshot is taken at each epoch end (``every`` = None) or every
    ``every`` updates."""

    last: int
    every: int | None = None


class Task(ABC):
    """A task of the suite (see the module docstring). Subclasses set the attributes in their
    constructor and implement the abstract methods."""

    model: nn.Module
    budget: Budget
    eval_splits: tuple[str, ...]
    headline: str
    """The metric a table reports by default, e.g. ``test/acc``."""
    unit: str = "samples"
    """What ``units`` counts: ``samples`` or ``tokens`` (throughput is reported per unit)."""
    checksums: Mapping[str, str] = {}
    full_eval_every: int | None = None
    average: CheckpointAverage | None = None

    @property
    def selection(self) -> str:
        """The metric whose best evaluation is snapshotted as ``at_best``: the validation loss
        when there is a validation split, else the headline."""
        return "val/loss" if "val" in self.eval_splits else self.headline

    @property
    def mode(self) -> str:
        """Whether a larger headline is better (``max``) or a smaller one (``min``)."""
        return metric_mode(self.headline)

    @abstractmethod
    def micro_batches_per_epoch(self, epoch: int, world: World) -> int:
        """Global micro-batches (one batch of every rank together) of ``epoch``, derived from the
        seed when batches vary in size."""

    def begin_epoch(self, epoch: int) -> None:
        """Per-epoch work before the epoch's first batch (not when resuming inside it)."""
        return None

    @abstractmethod
    def train_batches(self, epoch: int, start: int, world: World) -> Iterator[Batch]:
        """This rank's batches of ``epoch`` from global step ``start`` on: exactly what
        ``train_batches(epoch, 0, world)`` yields after its first ``start`` (exact mid-epoch
        resume). A rank without data in a step yields a batch with ``units == 0`` whose loss is
        zero but still touches every parameter (DistributedDataParallel needs every gradient)."""

    @abstractmethod
    def train_step(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        """The summed loss (an fp32 scalar over ``batch.units``) and extra summable statistics
        (device tensors); the loop divides the sum by the units of the whole update."""

    def train_metrics(self, means: Mapping[str, float]) -> dict[str, float]:
        """Log keys for the window means per unit of ``loss`` and the extra statistics (the
        loop adds ``train/lr`` and, when it clips, ``train/grad_norm``)."""
        return {f"train/{key}": value for key, value in means.items()}

    @abstractmethod
    def eval_batches(self, split: str, world: World) -> Iterator[Batch]:
        """This rank's batches of one evaluation split."""

    @abstractmethod
    def eval_step(
        self, model: nn.Module, batch: Batch, evaluation: Evaluation
    ) -> dict[str, Tensor | float]:
        """Summable statistics of one batch (device tensors, or host numbers known without
        reading the device); the expensive parts (beam search) only when ``evaluation.full``."""

    @abstractmethod
    def eval_metrics(
        self, split: str, totals: Mapping[str, float], evaluation: Evaluation
    ) -> dict[str, float]:
        """The split's metrics from its statistics summed over batches and ranks."""

    def state_dict(self) -> dict[str, Any]:
        """The task's own state (a carried hidden state), saved in checkpoints and restored
        before ``train_batches`` on resume; ``begin_epoch`` is not called again then."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` returned."""
        return None
