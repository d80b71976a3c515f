"""Translation batches through the task contract: token-budget buckets planned on the host.

A split's pairs are ordered and bucketed once (``data.translation.batching``: fairseq's
``ordered_indices``, ``filter_by_size`` and ``batch_by_size``); training shuffles the buckets
each epoch from the run's seed and shards whole buckets over ranks (rank r takes bucket
``W·s + r`` of global step s). Units are non-pad target tokens, counted from the split's target
lengths, so every rank knows the units of every rank's bucket without communicating.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from data.translation.batching import (
    EpochBatches,
    batch_by_size,
    collate,
    filter_by_size,
    ordered_indices,
)
from experiments.distributed import World
from experiments.tasks.contract import Batch


class TokenSequences(Protocol):
    """One language of one split (``data.translation.binarized.TokenArray``, or synthetic
    arrays of the same shape): ids ending in ``</s>`` and their lengths."""

    sizes: np.ndarray

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> np.ndarray: ...


@dataclass
class TranslationBatch(Batch):
    src_tokens: Tensor
    prev_output_tokens: Tensor
    target: Tensor
    references: list[np.ndarray] = field(default_factory=list)
    """Host copies of each row's target ids (for BLEU; never moved to the device)."""

    def to(self, device: torch.device) -> TranslationBatch:
        return replace(
            self,
            src_tokens=self.src_tokens.to(device, non_blocking=True),
            prev_output_tokens=self.prev_output_tokens.to(device, non_blocking=True),
            target=self.target.to(device, non_blocking=True),
        )


@dataclass(frozen=True)
class BucketRules:
    max_tokens: int | None
    max_sentences: int | None
    required_batch_size_multiple: int
    max_positions: tuple[int, int]
    on_invalid: str
    """``skip`` (fairseq's training: drop over-long pairs with a warning and a count) or
    ``raise`` (name the first one)."""


class SplitBatches:
    """The buckets of one split and how each becomes a ``TranslationBatch``."""

    def __init__(
        self,
        name: str,
        source: TokenSequences,
        target: TokenSequences,
        rules: BucketRules,
        *,
        seed: int,
        shuffle: bool,
        pad: int,
        eos: int,
    ) -> None:
        self.name, self.source, self.target, self.pad, self.eos = name, source, target, pad, eos
        src_sizes = np.asarray(source.sizes, dtype=np.int64)
        tgt_sizes = np.asarray(target.sizes, dtype=np.int64)
        self.tgt_sizes = tgt_sizes
        indices = ordered_indices(src_sizes, tgt_sizes, seed, shuffle=True)
        kept = filter_by_size(
            indices, src_sizes, tgt_sizes, rules.max_positions, rules.max_tokens,
            on_invalid=rules.on_invalid, split=name,
        )  # fmt: skip
        self.skipped = len(kept.skipped)
        buckets = batch_by_size(
            kept.indices, np.maximum(src_sizes, tgt_sizes), rules.max_tokens,
            rules.max_sentences, rules.required_batch_size_multiple,
        )  # fmt: skip
        self.epochs = EpochBatches(buckets, seed, shuffle=shuffle)

    def __len__(self) -> int:
        return len(self.epochs)

    def units(self, bucket: np.ndarray) -> int:
        """Non-pad target tokens of a bucket (``</s>`` included, as fairseq's ``ntokens``)."""
        return int(self.tgt_sizes[bucket].sum()) if len(bucket) else 0

    def make(
        self, bucket: np.ndarray, global_units: int, keep_references: bool
    ) -> TranslationBatch:
        if not len(bucket):
            return self.empty(global_units)
        pairs = [(self.source[int(i)], self.target[int(i)]) for i in bucket]
        batch = collate(pairs, self.pad, self.eos, ids=bucket)
        references = []
        if keep_references:
            by_id = dict(zip(bucket.tolist(), pairs, strict=True))
            references = [np.asarray(by_id[index][1]) for index in batch["id"].tolist()]
        return TranslationBatch(
            int(batch["ntokens"]), global_units, src_tokens=batch["src_tokens"],
            prev_output_tokens=batch["prev_output_tokens"], target=batch["target"],
            references=references,
        )  # fmt: skip

    def empty(self, global_units: int) -> TranslationBatch:
        """A rank's batch in a step without a bucket for it: one ``</s>`` → pad pair whose
        loss is zero but reaches every parameter (DistributedDataParallel needs them all)."""
        one = torch.tensor([[self.eos]])
        return TranslationBatch(
            0, global_units, src_tokens=one, prev_output_tokens=one.clone(),
            target=torch.tensor([[self.pad]]),
        )  # fmt: skip

    def training(self, epoch: int, start: int, world: World) -> Iterator[TranslationBatch]:
        """This rank's batch of each global step of ``epoch`` from ``start`` on."""
        order = self.epochs.order(epoch)
        size = world.world_size
        for step in range(start, self.epochs.steps(size)):
            step_buckets: Sequence[np.ndarray] = order[step * size : (step + 1) * size]
            global_units = sum(self.units(bucket) for bucket in step_buckets)
            position = step * size + world.rank
            bucket = order[position] if position < len(order) else np.zeros(0, dtype=np.int64)
            yield self.make(bucket, global_units, keep_references=False)

    def evaluation(self, world: World) -> Iterator[TranslationBatch]:
        """Every bucket in length order; rank r takes buckets r, r + W, ..."""
        for index, bucket in enumerate(self.epochs.batches):
            if index % world.world_size == world.rank:
                units = self.units(bucket)
                yield self.make(bucket, units, keep_references=True)
