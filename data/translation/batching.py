"""Token-budget batching as fairseq builds it for translation.

- ``ordered_indices``: ``LanguagePairDataset.ordered_indices`` under ``numpy_seed(seed)``: a
  seeded permutation, then stable sorts by target and then source length, so batches are
  length-homogeneous and ties are in random order.
- ``filter_by_size``: ``filter_indices_by_size``: pairs longer than the model's positions (or
  than ``max_tokens``, which fairseq's training iterator folds into the limit since 2020) are
  skipped with a warning and a count; ``on_invalid="raise"`` refuses them instead, naming the
  first (fairseq 2019's ``batch_by_size`` assertion).
- ``batch_by_size``: ``data_utils.batch_by_size`` as fairseq's Cython ``batch_by_size_vec``
  (December 2020 on) decides, with ``num_tokens = max(source, target)`` per pair and a batch's
  cost = its size x its longest pair (padded lengths). A batch grows while that cost stays within
  ``max_tokens`` (and its size within ``max_sentences``); when the next pair would overflow it,
  the batch is closed at its largest prefix whose size is below ``required_batch_size_multiple``
  or a multiple of it, and the rest opens the next batch, closed alone first when the rest plus
  the pair would itself overflow. The last batch is cut the same way, its rest forming a final
  small batch (fairseq 2022 drops that rest; we keep it). fairseq's 2019 generator, which produced
  the RAdam numbers, makes the same batches except in those two places: it kept the last batch
  whole and let the overflowing rest through, so its batches could exceed ``max_tokens``.
- ``EpochBatches``: ``EpochBatchIterator``: the frozen batches shuffled each epoch with
  ``numpy_seed(seed + epoch)`` (fairseq counts epochs from 1; the loop from 0, hence ``+ 1``),
  then ``ShardedIterator``: rank r takes whole batches ``r, r + W, ...``, a rank past the end gets
  an empty batch. Global step s of an epoch is batch ``s * W + r`` on rank r, so resuming at any
  step is exact.
- ``collate``: ``language_pair_dataset.collate``: source left-padded, target right-padded, the
  decoder input is the target with ``</s>`` moved to the front, rows sorted by descending source
  length.

Seeded RNGs use ``np.random.RandomState(seed)``, which draws exactly what fairseq's
``np.random.seed(seed)`` + ``np.random.permutation`` / ``shuffle`` draw.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from data import DataError

log = logging.getLogger(__name__)


def ordered_indices(
    src_sizes: np.ndarray, tgt_sizes: np.ndarray, seed: int | None, shuffle: bool = True
) -> np.ndarray:
    """Indices sorted by (source length, target length), ties in a ``seed``-random order."""
    count = len(src_sizes)
    if shuffle:
        indices = np.random.RandomState(seed).permutation(count).astype(np.int64)
    else:
        indices = np.arange(count, dtype=np.int64)
    indices = indices[np.argsort(tgt_sizes[indices], kind="mergesort")]
    return indices[np.argsort(src_sizes[indices], kind="mergesort")]


@dataclass(frozen=True)
class Filtered:
    indices: np.ndarray
    """The kept indices, in their given order."""
    skipped: np.ndarray
    """The dropped indices."""


def filter_by_size(
    indices: np.ndarray,
    src_sizes: np.ndarray,
    tgt_sizes: np.ndarray,
    max_positions: int | tuple[int, int] | None,
    max_tokens: int | None = None,
    *,
    on_invalid: str = "skip",
    split: str = "train",
) -> Filtered:
    """Drop pairs whose source or target is longer than ``max_positions`` (one number or
    (source, target)) or than ``max_tokens``. ``on_invalid="skip"`` (fairseq's training
    behaviour, the default) logs a warning with the count and the first ids; ``"raise"`` raises
    ``DataError`` naming the first such sentence."""
    if on_invalid not in ("skip", "raise"):
        raise DataError(f"on_invalid={on_invalid!r} is invalid: skip or raise")
    if isinstance(max_positions, tuple | list):
        max_src, max_tgt = max_positions
    else:
        max_src = max_tgt = max_positions
    limits = [(max_src, "max_positions"), (max_tokens, "max_tokens")]
    max_src = min(v for v in (max_src, max_tokens, np.iinfo(np.int64).max) if v is not None)
    max_tgt = min(v for v in (max_tgt, max_tokens, np.iinfo(np.int64).max) if v is not None)
    src, tgt = src_sizes[indices], tgt_sizes[indices]
    bad = (src > max_src) | (tgt > max_tgt)
    skipped = indices[bad]
    if len(skipped) and on_invalid == "raise":
        first = int(skipped[0])
        key = next(
            name
            for value, name in limits
            if value is not None and max(src_sizes[first], tgt_sizes[first]) > value
        )
        raise DataError(
            f"{split} sentence pair {first} has {int(src_sizes[first])} source and "
            f"{int(tgt_sizes[first])} target tokens, more than {key}="
            f"{dict((n, v) for v, n in limits)[key]}: raise the limit, or skip such pairs"
        )
    if len(skipped):
        log.warning(
            "%d %s sentence pairs are longer than %s tokens and are skipped (first ids: %s)",
            len(skipped),
            split,
            max_src if max_src == max_tgt else (max_src, max_tgt),
            skipped[:10].tolist(),
        )
    return Filtered(indices[~bad], skipped)


def batch_by_size(
    indices: np.ndarray,
    sizes: np.ndarray,
    max_tokens: int | None,
    max_sentences: int | None = None,
    required_batch_size_multiple: int = 8,
) -> list[np.ndarray]:
    """Split ``indices`` (in order) into batches; ``sizes[i]`` is pair i's token count
    (``max(source, target)``). Every batch has ``len(batch) * max(sizes[batch]) <= max_tokens``
    and at most ``max_sentences`` pairs; ``DataError`` when one pair alone is over the budget
    (filter first)."""
    multiple = max(int(required_batch_size_multiple), 1)
    token_cap = int(max_tokens) if max_tokens is not None and max_tokens > 0 else None
    sentence_cap = int(max_sentences) if max_sentences is not None and max_sentences > 0 else None
    lengths = np.asarray(sizes)[indices]
    if token_cap is not None and len(lengths) and int(lengths.max()) > token_cap:
        position = int(np.argmax(lengths > token_cap))
        raise DataError(
            f"sentence pair {int(indices[position])} has {int(lengths[position])} tokens, more "
            f"than max_tokens={token_cap}: filter it first (filter_by_size) or raise max_tokens"
        )

    def overflows(count: int, longest: int) -> bool:
        return (sentence_cap is not None and count > sentence_cap) or (
            token_cap is not None and count * longest > token_cap
        )

    ends: list[int] = []  # ends of the closed batches
    start = 0  # first pair of the open batch
    committed = 0  # end of the open batch's largest prefix of size < multiple or k * multiple
    committed_longest = 0  # longest pair in [start, committed)
    tail_longest = 0  # longest pair in [committed, position]
    for position, length in enumerate(lengths.tolist()):
        tail_longest = max(tail_longest, length)
        longest = max(committed_longest, tail_longest)
        count = position + 1 - start
        if overflows(count, longest):
            tail = position + 1 - committed
            if token_cap is not None and tail * tail_longest > token_cap:
                ends.append(committed)  # the carried rest cannot join this pair: close it alone
                committed, tail_longest = position, length
            ends.append(committed)
            start = committed
            committed, committed_longest, tail_longest = position + 1, tail_longest, 0
        elif count < multiple or count % multiple == 0:
            committed, committed_longest, tail_longest = position + 1, longest, 0
    if committed != len(lengths):
        ends.append(committed)  # the last batch is cut to a multiple too, its rest batched alone
    return [batch for batch in np.split(indices, ends) if len(batch)]


class EpochBatches:
    """The frozen batches of a split and their order in each epoch, sharded over ranks."""

    def __init__(self, batches: Sequence[np.ndarray], seed: int, shuffle: bool = True) -> None:
        self.batches = [np.asarray(batch, dtype=np.int64) for batch in batches]
        self.seed = seed
        self.shuffle = shuffle

    def __len__(self) -> int:
        return len(self.batches)

    def order(self, epoch: int) -> list[np.ndarray]:
        """All batches of the 0-based ``epoch`` in training order (fairseq epoch ``epoch + 1``)."""
        batches = list(self.batches)
        if self.shuffle:
            np.random.RandomState(self.seed + epoch + 1).shuffle(batches)
        return batches

    def steps(self, world_size: int = 1) -> int:
        """Global micro-batches of an epoch: each gives every rank one batch."""
        return -(-len(self.batches) // world_size)

    def rank_batches(
        self, epoch: int, start: int = 0, world_size: int = 1, rank: int = 0
    ) -> Iterator[np.ndarray]:
        """Rank ``rank``'s batch of each global step from ``start`` on (an empty array when the
        epoch has no batch left for this rank in that step)."""
        order = self.order(epoch)
        for step in range(start, self.steps(world_size)):
            position = step * world_size + rank
            yield order[position] if position < len(order) else np.zeros(0, dtype=np.int64)


def collate_tokens(
    values: Sequence[np.ndarray], pad: int, left_pad: bool, eos_first: int | None = None
) -> torch.Tensor:
    """Rows padded to the longest; ``eos_first``: each row rotated so it starts with that id
    and drops its last token (the shifted decoder input)."""
    width = max(len(value) for value in values)
    out = np.full((len(values), width), pad, dtype=np.int64)
    for row, value in enumerate(values):
        if eos_first is not None:
            value = np.concatenate(([eos_first], value[:-1]))
        if left_pad:
            out[row, width - len(value) :] = value
        else:
            out[row, : len(value)] = value
    return torch.from_numpy(out)


def collate(
    pairs: Sequence[tuple[np.ndarray, np.ndarray]],
    pad: int,
    eos: int,
    left_pad_source: bool = True,
    left_pad_target: bool = False,
    ids: Sequence[int] | np.ndarray | None = None,
) -> dict[str, torch.Tensor | int]:
    """One batch of (source ids, target ids) pairs, both ending in ``</s>``: ``src_tokens``
    (B x S), ``src_lengths``, ``prev_output_tokens`` (B x T, starts with ``</s>``), ``target``
    (B x T), ``id`` (the pairs' ids, ``ids`` or their positions), ``ntokens`` (non-pad target
    tokens) and ``nsentences`` (host ints). Rows are ordered by descending source length (a
    stable sort; fairseq's unstable torch sort may order equal lengths differently)."""
    if not pairs:
        raise ValueError("collate needs at least one pair")
    sources = [np.asarray(source, dtype=np.int64) for source, _ in pairs]
    targets = [np.asarray(target, dtype=np.int64) for _, target in pairs]
    src_lengths = np.asarray([int((s != pad).sum()) for s in sources], dtype=np.int64)
    order = np.argsort(-src_lengths, kind="stable")
    sources = [sources[i] for i in order]
    targets = [targets[i] for i in order]
    identity = np.arange(len(pairs)) if ids is None else np.asarray(ids, dtype=np.int64)
    return {
        "id": torch.from_numpy(identity[order].astype(np.int64)),
        "src_tokens": collate_tokens(sources, pad, left_pad_source),
        "src_lengths": torch.from_numpy(src_lengths[order]),
        "prev_output_tokens": collate_tokens(targets, pad, left_pad_target, eos_first=eos),
        "target": collate_tokens(targets, pad, left_pad_target),
        "ntokens": int(sum(int((t != pad).sum()) for t in targets)),
        "nsentences": len(pairs),
    }
