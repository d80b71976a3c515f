"""One task class for the word-level language models (One Billion Word and Penn Treebank).

Batches are BPTT windows of contiguous token streams laid out in ``batch_size`` columns
(``experiments.tasks.language_model.plans``), time-major ``T × B``. Every rank computes the same
plan and takes a contiguous share of the columns (``batch_size`` must divide by the world size):
``units`` are the target tokens of its columns, ``global_units`` those of all columns.

The hidden state lives here: carried from one window to the next, detached, and reset (started
from zero) where the plan says so. Under DDP every rank's new state is summed into the full
``batch_size``-column state after each step (one small all-reduce), so the state saved in a
checkpoint by rank 0 is complete and a run resumes exactly on any world size that divides the
columns. Evaluation keeps a separate state, reset at the start of each split's pass.

The model returns the summed negative log-likelihood, a per-token regulariser (AWD-LSTM's AR and
TAR; zero otherwise) and the new state; the training loss is ``nll + units · penalty``. Metrics:
``<split>/loss`` is the mean natural-log loss over all target tokens (end-of-sentence included)
and ``<split>/ppl`` its exponential; ``train/ppl`` is the exponential of the window's mean nll.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from data.token_stream.columns import Columns, rank_columns, require_targets
from experiments.config_checks import ConfigError
from experiments.distributed import World, all_reduce_sum
from experiments.models.adaptive_softmax import ClusterPlan
from experiments.tasks.contract import Batch, Budget, Evaluation, Task
from experiments.tasks.language_model.plans import EvalStream, Step

Extras = Callable[[np.ndarray], tuple]
"""Host-side extra model arguments for a window's targets (the adaptive softmax's plan)."""


@dataclass
class TokenBatch(Batch):
    inputs: Tensor
    targets: Tensor
    reset: bool = False
    extras: tuple = field(default_factory=tuple)
    columns: tuple[int, int] = (0, 0)
    """This rank's ``[lo, hi)`` of the step's columns."""

    def to(self, device: torch.device) -> TokenBatch:
        def move(value: Any) -> Any:
            if isinstance(value, Tensor | ClusterPlan):
                return value.to(device)
            return value

        return replace(
            self,
            inputs=self.inputs.to(device, non_blocking=True),
            targets=self.targets.to(device, non_blocking=True),
            extras=tuple(move(value) for value in self.extras),
        )


def valid_targets(columns: Columns, start: int, length: int) -> int:
    """Targets of rows ``start .. start + length − 1`` that exist in ``columns``."""
    return int(np.minimum(np.maximum(columns.pairs - start, 0), length).sum())


def safe_exp(value: float) -> float:
    return math.exp(value) if value < 700.0 else math.inf


class LanguageModelTask(Task):
    unit = "tokens"

    def __init__(
        self,
        *,
        model: nn.Module,
        plan: Any,
        eval_streams: Mapping[str, EvalStream],
        batch_size: int,
        epochs: int,
        headline: str,
        selection: str | None = None,
        extras: Extras = lambda targets: (),
        checksums: Mapping[str, str] | None = None,
        optimum: Mapping[str, float] | None = None,
        device: torch.device,
        world: World,
    ) -> None:
        if batch_size % world.world_size:
            raise ConfigError(
                f"task.batch_size={batch_size} is invalid with {world.world_size} ranks: "
                "the batch columns must divide evenly over the ranks"
            )
        for split, stream in eval_streams.items():
            require_targets(stream.columns, split)
        self.model, self.plan, self.eval_streams = model.to(device), plan, dict(eval_streams)
        self.batch_size = batch_size
        self.budget = Budget(epochs=epochs)
        self.eval_splits = tuple(self.eval_streams)
        self.headline = headline
        self._selection = selection
        self.extras = extras
        self.checksums = dict(checksums or {})
        self.optimum = dict(optimum or {})
        """A known best achievable loss per split (a synthetic corpus's), logged as its ppl."""
        self.hidden: tuple[Tensor, ...] | None = None
        self.eval_hidden: tuple[Tensor, ...] | None = None
        self.world = world
        """The run's ranks, over which each step's new hidden state is summed."""

    @property
    def selection(self) -> str:
        return self._selection or super().selection

    def micro_batches_per_epoch(self, epoch: int, world: World) -> int:
        return self.plan.steps(epoch)

    def _batch(self, step: Step, lo: int, hi: int, global_units: int) -> TokenBatch:
        mine = step.columns.select(lo, hi)
        inputs, targets = mine.window(step.tokens, step.start, step.length)
        return TokenBatch(
            valid_targets(mine, step.start, step.length),
            global_units,
            lr_scale=step.lr_scale,
            inputs=torch.from_numpy(inputs),
            targets=torch.from_numpy(targets),
            reset=step.reset,
            extras=self.extras(targets),
            columns=(lo, hi),
        )

    def train_batches(self, epoch: int, start: int, world: World) -> Iterator[TokenBatch]:
        lo, hi = rank_columns(self.batch_size, world.rank, world.world_size)
        for index in range(start, self.plan.steps(epoch)):
            step = self.plan.step(epoch, index)
            total = valid_targets(step.columns, step.start, step.length)
            yield self._batch(step, lo, hi, total)

    def _state_for(self, batch: TokenBatch) -> tuple[Tensor, ...] | None:
        if batch.reset or self.hidden is None:
            return None
        lo, hi = batch.columns
        device = batch.inputs.device
        return tuple(t[:, lo:hi].to(device).contiguous() for t in self.hidden)

    def _keep(self, hidden: Sequence[Tensor], batch: TokenBatch) -> None:
        hidden = tuple(t.detach() for t in hidden)
        if self.world.distributed:
            lo, hi = batch.columns
            full = []
            for part in hidden:
                whole = part.new_zeros(part.shape[0], self.batch_size, *part.shape[2:])
                whole[:, lo:hi] = part
                full.append(all_reduce_sum(whole, self.world))
            hidden = tuple(full)
        self.hidden = hidden

    def train_step(self, model: nn.Module, batch: TokenBatch) -> tuple[Tensor, dict[str, Tensor]]:
        nll, penalty, hidden = model(batch.inputs, batch.targets, self._state_for(batch),
                                     *batch.extras)  # fmt: skip
        self._keep(hidden, batch)
        return nll + batch.units * penalty, {"nll": nll.detach()}

    def train_metrics(self, means: Mapping[str, float]) -> dict[str, float]:
        return {"train/loss": means["loss"], "train/ppl": safe_exp(means["nll"])}

    def eval_batches(self, split: str, world: World) -> Iterator[TokenBatch]:
        stream = self.eval_streams[split]
        lo, hi = rank_columns(stream.columns.count, world.rank, world.world_size)
        self.eval_hidden = None
        if lo == hi:
            return
        windows = stream.steps()
        for index, (start, length) in enumerate(windows):
            step = Step(stream.tokens, stream.columns, start, length, index == 0)
            yield self._batch(step, lo, hi, 0)

    def eval_step(
        self, model: nn.Module, batch: TokenBatch, evaluation: Evaluation
    ) -> dict[str, Tensor | float]:
        hidden = None if batch.reset else self.eval_hidden
        nll, _, self.eval_hidden = model(batch.inputs, batch.targets, hidden, *batch.extras)
        return {"nll": nll, "tokens": batch.units}

    def eval_metrics(
        self, split: str, totals: Mapping[str, float], evaluation: Evaluation
    ) -> dict[str, float]:
        loss = totals["nll"] / max(totals["tokens"], 1.0)
        metrics = {f"{split}/loss": loss, f"{split}/ppl": safe_exp(loss)}
        if split in self.optimum:
            metrics[f"{split}/ppl_optimum"] = safe_exp(self.optimum[split])
        return metrics

    def state_dict(self) -> dict[str, Any]:
        hidden = [] if self.hidden is None else [t.detach().cpu() for t in self.hidden]
        return {"hidden": hidden}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        hidden = state.get("hidden") or []
        self.hidden = tuple(hidden) if hidden else None
