"""A token stream laid out in batch columns, and the BPTT windows read from it.

A stream is cut into ``B`` contiguous columns that are read side by side, a window of rows at a
time (truncated backpropagation through time: the hidden state of column ``b`` is carried from
one window to the next). Column ``b`` starts at token ``starts[b]`` and has ``pairs[b]`` (input,
target) pairs: input row ``t`` is token ``starts[b] + t``, its target the next token. Three
layouts, each as its reference builds it:

- ``truncated`` (RAdam ``language-model/model_word_ada/dataset.py``, ``LargeDataset``, per
  training shard): the shard's tail is dropped so that every column is a whole number of BPTT
  windows, ``L = ((n − 1) // (B·T))·T`` pairs each; a column's last target is the next column's
  first input.
- ``batchified`` (AWD-LSTM ``utils.batchify``): ``n // B`` tokens per column (the remainder is
  dropped), targets inside the column, so ``n // B − 1`` pairs each.
- ``all_pairs`` (evaluation): every one of the ``n − 1`` targets, in near-equal contiguous
  columns (the first ones one pair longer); with one column it is the RAdam reference's
  ``EvalDataset``. Windows past a shorter column's end have target ``-1`` (no loss).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from data import DataError

PAD_TARGET = -1


@dataclass(frozen=True)
class Columns:
    starts: np.ndarray
    """Token offset of each column's first input (int64)."""
    pairs: np.ndarray
    """(input, target) pairs in each column (int64)."""
    length: int = 0
    """Tokens of the stream the columns were cut from."""
    least: int = 2
    """The fewest tokens of a stream for which this layout holds one (input, target) pair."""

    @property
    def count(self) -> int:
        return len(self.starts)

    @property
    def rows(self) -> int:
        """The longest column's pairs: windows cover rows ``0 .. rows − 1``."""
        return int(self.pairs.max()) if len(self.pairs) else 0

    @classmethod
    def truncated(cls, offset: int, length: int, batch_size: int, bptt: int) -> Columns:
        pairs = (length - 1) // (batch_size * bptt) * bptt if length > 0 else 0
        starts = offset + np.arange(batch_size, dtype=np.int64) * pairs
        full = np.full(batch_size, pairs, dtype=np.int64)
        return cls(starts, full, length, batch_size * bptt + 1)

    @classmethod
    def batchified(cls, offset: int, length: int, batch_size: int) -> Columns:
        rows = length // batch_size
        starts = offset + np.arange(batch_size, dtype=np.int64) * rows
        pairs = np.full(batch_size, max(rows - 1, 0), dtype=np.int64)
        return cls(starts, pairs, length, 2 * batch_size)

    @classmethod
    def all_pairs(cls, offset: int, length: int, batch_size: int) -> Columns:
        total = max(length - 1, 0)
        share, extra = divmod(total, batch_size)
        pairs = np.array([share + (b < extra) for b in range(batch_size)], dtype=np.int64)
        starts = offset + np.concatenate([[0], np.cumsum(pairs)[:-1]]).astype(np.int64)
        return cls(starts, pairs, length, 2)

    def select(self, lo: int, hi: int) -> Columns:
        """Columns ``lo .. hi − 1`` (one rank's share)."""
        return replace(self, starts=self.starts[lo:hi], pairs=self.pairs[lo:hi])

    def window(self, tokens: np.ndarray, start: int, length: int) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and targets of rows ``start .. start + length − 1``, each ``length × count``
        int64 (time-major); a target past its column's pairs is ``PAD_TARGET``."""
        rows = np.arange(start, start + length, dtype=np.int64)[:, None]
        valid = rows < self.pairs[None, :]
        last = np.maximum(self.pairs - 1, 0)[None, :]
        positions = self.starts[None, :] + np.minimum(rows, last)
        inputs = np.asarray(tokens[positions], dtype=np.int64)
        targets = np.asarray(tokens[positions + 1], dtype=np.int64)
        if not valid.all():
            targets[~valid] = PAD_TARGET
        return inputs, targets


def require_targets(columns: Columns, split: str) -> None:
    """``DataError`` (one line) when ``columns`` hold no target at all: an evaluation of
    ``split`` would read no batch and measure nothing. Refused when the task is built, before
    training, rather than after it (where a perplexity of nothing cannot be computed)."""
    if columns.pairs.sum() > 0:
        return
    raise DataError(
        f"the {split} split holds {columns.length:,} tokens, too few to evaluate: laid out in "
        f"{columns.count} columns it needs at least {columns.least:,} for one (token, next "
        "token) pair; use a longer split or fewer evaluation columns (the recipe's batch size "
        "for that split)"
    )


def rank_columns(count: int, rank: int, world_size: int) -> tuple[int, int]:
    """This rank's contiguous ``[lo, hi)`` of ``count`` columns (the first ranks take one more
    when ``count`` does not divide evenly)."""
    share, extra = divmod(count, world_size)
    lo = rank * share + min(rank, extra)
    return lo, lo + share + (1 if rank < extra else 0)


def fixed_windows(rows: int, bptt: int) -> list[tuple[int, int]]:
    """(start, length) of consecutive windows of ``bptt`` rows covering ``rows`` rows, the last
    one shorter (AWD-LSTM's and the RAdam reference's evaluation loops)."""
    return [(start, min(bptt, rows - start)) for start in range(0, rows, bptt)]
