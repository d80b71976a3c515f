"""The task contract: what a task owns, what the training loop owns, and how they meet.

A task owns its model, its batches (and how they are sharded over data-parallel ranks), its loss
and its evaluation. The loop (``experiments/train.py``) owns the optimizer, the learning-rate
schedule, gradient clipping, gradient accumulation, precision, logging, checkpoints and the run
store. The loop never sees targets, logits, argmax, "samples" or "tokens": only the numbers a
task hands it.

A task module exposes ``build(cfg, *, seed, data_dir, device) -> Task``; its config names that
function under ``task.build``. It may also expose ``synthetic(cfg, *, seed, data_dir, device)``:
the same task on synthetic data of the real shapes (the benchmarks use it where the dataset is
absent). Adding a task is one config in ``configs/task/`` plus such a module
(``experiments/tasks/classification.py`` is the image one; ``docs/architecture.md`` walks through
a new one).

Batches
    A ``Batch`` is one rank's micro-batch of one step. ``units`` is its loss normaliser on this
    rank (samples, or non-pad target tokens) and ``global_units`` the same summed over the ranks
    of this step; both are host integers the task knows without communicating (every rank
    computes the same batch plan from the seed). ``to(device)`` moves it in the task's own layout
    (channels_last belongs to image batches). ``lr_scale`` multiplies the schedule's lr for the
    update the batch starts (AWD-LSTM scales the lr by its random BPTT length / 70).

Training
    ``micro_batches_per_epoch(epoch, world)`` is the number of global micro-batches (one batch of
    every rank together) of an epoch, derived deterministically from the seed when batches vary
    in size. ``train_batches(epoch, start, world)`` yields this rank's batches of the epoch from
    global micro-batch ``start`` on: exactly what ``train_batches(epoch, 0, world)`` yields after
    its first ``start`` batches (exact mid-epoch resume). The task shards: image rows, BPTT
    columns, whole token buckets. A rank without data in a micro-batch yields a batch with
    ``units == 0`` whose loss is zero but still touches every parameter (DistributedDataParallel
    needs every gradient).
    ``train_step(model, batch)`` returns the summed loss (fp32 scalar, over ``batch.units``) and
    extra summable statistics (device tensors, e.g. correct predictions). The loop divides the sum
    by the units of the whole update (all micro-batches of all ranks), so a DDP gradient equals
    the single-process gradient and one update of W ranks equals one process accumulating W
    batches (``update_freq``). Statistics are logged as means per unit over each log window,
    through ``train_metrics``.

Budget and recipe keys the loop applies
    ``budget`` is epochs or updates (or both: whichever comes first). ``task.clip_grad_norm``
    (null: no clipping), ``task.update_freq`` (fairseq's ``--update-freq``), ``task.precision``
    and ``task.compile`` are recipe keys read by the loop (``experiments.loop_options``).

Evaluation
    ``eval_splits`` names the splits. For each, the loop calls ``eval_batches(split, world)`` and
    ``eval_step(model, batch, evaluation)`` per batch, which returns summable statistics (device
    tensors, or host numbers the task knows without reading the device); the loop sums them on
    the device, reduces them across ranks once per split and hands the totals to
    ``eval_metrics(split, totals, evaluation)``, which turns them into metrics (accuracy;
    perplexity = exp of the mean token loss; corpus BLEU from summed n-gram counts).
    ``evaluation.full`` is true every ``full_eval_every`` evaluations (None: only the final one):
    a task runs its expensive evaluation (beam search) then only. ``selection`` is the metric
    whose best evaluation ``summary.json`` records a snapshot of (``at_best``), e.g. test BLEU at
    the best validation loss. ``average`` asks the loop to keep parameter snapshots and evaluate
    their average at the end (fairseq's checkpoint averaging), under ``avg/<split>/<metric>``.

State
    ``state_dict`` / ``load_state_dict`` hold the task's own state (a carried LSTM hidden state, a
    stream position); it is saved in ``checkpoint.pt`` and restored on resume before
    ``train_batches`` is called again. ``begin_epoch(epoch)`` is called before an epoch's first
    batch (e.g. to reset a hidden state at each epoch), but not when a run resumes in the middle
    of an epoch: then ``load_state_dict`` restores what the epoch had set up.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
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


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation is: its number in the run (1-based), whether it is the run's last
    (``final``), and whether the task's expensive parts run (``full``)."""

    number: int
    final: bool
    full: bool


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

    def validate(self, world: World) -> None:
        """Raise ``ConfigError`` when the task cannot train on this world (before anything is
        written)."""
        return None

    def place_model(self, device: torch.device) -> nn.Module:
        """The model on ``device``, in the task's layout."""
        return self.model.to(device)

    @abstractmethod
    def micro_batches_per_epoch(self, epoch: int, world: World) -> int: ...

    def begin_epoch(self, epoch: int) -> None:
        """Per-epoch work before the epoch's first batch (not when resuming inside it)."""
        return None

    @abstractmethod
    def train_batches(self, epoch: int, start: int, world: World) -> Iterator[Batch]: ...

    @abstractmethod
    def train_step(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, Tensor]]: ...

    def train_metrics(self, means: Mapping[str, float]) -> dict[str, float]:
        """Log keys for the window means per unit of ``loss`` and the extra statistics (the
        loop adds ``train/lr`` and, when it clips, ``train/grad_norm``)."""
        return {f"train/{key}": value for key, value in means.items()}

    @abstractmethod
    def eval_batches(self, split: str, world: World) -> Iterator[Batch]: ...

    @abstractmethod
    def eval_step(
        self, model: nn.Module, batch: Batch, evaluation: Evaluation
    ) -> dict[str, Tensor | float]: ...

    @abstractmethod
    def eval_metrics(
        self, split: str, totals: Mapping[str, float], evaluation: Evaluation
    ) -> dict[str, float]: ...

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` returned."""
        return None
