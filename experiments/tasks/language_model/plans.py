"""Which BPTT windows an epoch reads, and in which order: the batch plans of the two recipes.

A plan yields ``Step``s: a window (``start``, ``length`` rows) of some ``Columns`` of a token
array, whether the hidden state starts from zero there, and the lr scale of its update. Both are
pure functions of (seed, epoch), so ``steps(epoch)`` is exact before training and a resumed run
reads the same windows.

- ``ShardedPlan`` (RAdam ``train_1bw.py`` with ``LargeDataset``): the training shards in an order
  shuffled every epoch, each laid out ``Columns.truncated`` (its tail dropped) and read in
  windows of ``bptt`` rows, the hidden state reset at each shard's first window.
- ``RandomBpttPlan`` (AWD-LSTM ``main.py``): one stream laid out ``Columns.batchified``, read in
  AWD-LSTM's random-length windows (``data.token_stream.bptt``), the hidden state reset only at
  the start of each epoch (``train()`` builds a fresh one) and carried across its windows;
  lr scale = drawn length / ``bptt``.
- ``EvalStream``: one evaluation split, in fixed windows of its columns.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from data.seeding import derive_seed
from data.token_stream.bptt import random_windows
from data.token_stream.columns import Columns, fixed_windows


@dataclass(frozen=True)
class Step:
    tokens: np.ndarray
    columns: Columns
    start: int
    length: int
    reset: bool
    lr_scale: float = 1.0


class ShardedPlan:
    def __init__(
        self,
        tokens: np.ndarray,
        shards: Sequence[tuple[int, int]],
        batch_size: int,
        bptt: int,
        seed: int,
    ) -> None:
        self.tokens, self.bptt, self.seed = tokens, bptt, seed
        self.columns = [
            Columns.truncated(offset, length, batch_size, bptt) for offset, length in shards
        ]
        self.windows = [columns.rows // bptt for columns in self.columns]

    def order(self, epoch: int) -> list[int]:
        """The shards of ``epoch`` in reading order (a permutation drawn from (seed, epoch))."""
        generator = np.random.default_rng(derive_seed("lm1b-shard-order", self.seed, epoch))
        return generator.permutation(len(self.columns)).tolist()

    def steps(self, epoch: int) -> int:
        return sum(self.windows)

    @lru_cache(maxsize=4)  # noqa: B019 - a few epochs' offsets, for the plan's lifetime
    def _starts(self, epoch: int) -> tuple[list[int], list[int]]:
        order = self.order(epoch)
        starts = np.concatenate([[0], np.cumsum([self.windows[s] for s in order])]).tolist()
        return order, starts

    def step(self, epoch: int, index: int) -> Step:
        order, starts = self._starts(epoch)
        position = bisect.bisect_right(starts, index) - 1
        shard, window = order[position], index - starts[position]
        return Step(self.tokens, self.columns[shard], window * self.bptt, self.bptt, window == 0)


class RandomBpttPlan:
    def __init__(self, tokens: np.ndarray, batch_size: int, bptt: int, seed: int) -> None:
        self.tokens, self.bptt, self.seed = tokens, bptt, seed
        self.columns = Columns.batchified(0, len(tokens), batch_size)

    @lru_cache(maxsize=256)  # noqa: B019 - every epoch of the budget, drawn once
    def _windows(self, epoch: int) -> tuple:
        rows = self.columns.rows + 1  # AWD-LSTM's loop runs over the column's rows, not pairs
        return tuple(random_windows(rows, self.bptt, self.seed, epoch, "ptb-bptt"))

    def steps(self, epoch: int) -> int:
        return len(self._windows(epoch))

    def step(self, epoch: int, index: int) -> Step:
        window = self._windows(epoch)[index]
        return Step(
            self.tokens, self.columns, window.start, window.length, index == 0,
            window.drawn / self.bptt,
        )  # fmt: skip


@dataclass(frozen=True)
class EvalStream:
    tokens: np.ndarray
    columns: Columns
    bptt: int

    def steps(self) -> list[tuple[int, int]]:
        return fixed_windows(self.columns.rows, self.bptt)
