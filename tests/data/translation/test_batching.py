"""Token-budget batching: fairseq's ordering, filtering, ``batch_by_size``, epoch shuffling,
rank sharding and collation."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from data import DataError
from data.translation.batching import (
    EpochBatches,
    batch_by_size,
    collate,
    filter_by_size,
    ordered_indices,
)


def fairseq_2019_batches(indices, sizes, max_tokens, multiple):
    """fairseq 0.8's ``batch_by_size`` generator (the RAdam paper's), restated as the reference:
    when the next pair overflows, emit the largest multiple-of-``multiple`` prefix (or, below
    ``multiple`` pairs, everything) and carry the rest."""
    batches, batch, lengths = [], [], []
    for index in indices:
        lengths.append(int(sizes[index]))
        longest = max(lengths)
        if batch and (len(batch) + 1) * longest > max_tokens:
            keep = max(multiple * (len(batch) // multiple), len(batch) % multiple)
            batches.append(batch[:keep])
            batch, lengths = batch[keep:], lengths[keep:]
        batch.append(int(index))
    return batches + ([batch] if batch else [])


def realistic_sizes(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Source/target lengths shaped like IWSLT's (lognormal, mean ≈ 25, up to ≈ 200)."""
    rng = np.random.default_rng(seed)
    src = np.clip(rng.lognormal(3.0, 0.6, count).astype(np.int64), 2, 220)
    tgt = np.clip((src * rng.uniform(0.7, 1.3, count)).astype(np.int64), 2, 220)
    return src, tgt


def test_ordered_indices_are_fairseqs_seeded_permutation_sorted_by_lengths() -> None:
    src, tgt = realistic_sizes(500, seed=1)
    np.random.seed(7)  # fairseq: with numpy_seed(seed): dataset.ordered_indices()
    expected = np.random.permutation(len(src))
    expected = expected[np.argsort(tgt[expected], kind="mergesort")]
    expected = expected[np.argsort(src[expected], kind="mergesort")]
    order = ordered_indices(src, tgt, seed=7)
    assert order.tolist() == expected.tolist()
    assert np.all(np.diff(src[order]) >= 0)
    assert ordered_indices(src, tgt, seed=8).tolist() != order.tolist()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("max_tokens", [1000, 4000])
def test_batches_stay_within_budget_and_match_fairseq_2019(seed: int, max_tokens: int) -> None:
    src, tgt = realistic_sizes(3000, seed)
    sizes = np.maximum(src, tgt)
    order = ordered_indices(src, tgt, seed)
    batches = batch_by_size(order, sizes, max_tokens)
    assert np.concatenate(batches).tolist() == order.tolist()
    assert all(len(b) * sizes[b].max() <= max_tokens for b in batches)
    assert all(len(b) % 8 == 0 or len(b) < 8 for b in batches)
    assert sum(len(b) % 8 == 0 for b in batches) > 0.9 * len(batches)
    reference = fairseq_2019_batches(order, sizes, max_tokens, 8)
    assert all(len(b) * sizes[b].max() <= max_tokens for b in reference)  # no overflow here
    # identical, except that the last batch is cut to a multiple of 8 with its rest batched
    last = len(reference[-1]) - len(reference[-1]) % 8
    expected = reference[:-1] + [b for b in (reference[-1][:last], reference[-1][last:]) if b]
    assert [b.tolist() for b in batches] == expected


def test_a_carried_rest_that_cannot_take_the_next_pair_is_closed_alone() -> None:
    sizes = np.array([6] * 15 + [20] * 9)
    indices = np.arange(len(sizes))
    batches = batch_by_size(indices, sizes, max_tokens=100)
    assert [b.tolist() for b in batches] == [
        list(range(0, 8)), list(range(8, 15)), list(range(15, 20)), list(range(20, 24))
    ]  # fmt: skip
    # fairseq 2019 carried 7 short pairs into a batch of 8 long ones: 8 x 20 = 160 > 100 tokens
    reference = fairseq_2019_batches(indices, sizes, 100, 8)
    assert max(len(b) * sizes[b].max() for b in reference) == 160


def test_sentence_caps_and_small_batches() -> None:
    sizes = np.full(10, 2)
    assert [len(b) for b in batch_by_size(np.arange(10), sizes, 1000)] == [8, 2]
    assert [len(b) for b in batch_by_size(np.arange(10), sizes, 1000, max_sentences=4)] == [
        4, 4, 2
    ]  # fmt: skip
    assert [len(b) for b in batch_by_size(np.arange(10), sizes, 6)] == [3, 3, 3, 1]
    assert batch_by_size(np.arange(0), sizes, 100) == []
    with pytest.raises(DataError, match="sentence pair 4 has 9 tokens, more than max_tokens=8"):
        batch_by_size(np.arange(6), np.array([1, 2, 3, 4, 9, 1]), 8)


def test_filter_by_size_skips_with_a_count_or_names_the_pair(caplog) -> None:
    src, tgt = np.array([5, 300, 7, 9, 2000]), np.array([5, 6, 1100, 9, 3])
    indices = np.arange(5)
    with caplog.at_level(logging.WARNING):
        kept = filter_by_size(indices, src, tgt, (1024, 1024), max_tokens=256)
    assert kept.indices.tolist() == [0, 3] and kept.skipped.tolist() == [1, 2, 4]
    assert "3 train sentence pairs are longer than 256 tokens and are skipped" in caplog.text
    assert filter_by_size(indices, src, tgt, (1024, 1024)).skipped.tolist() == [2, 4]
    with pytest.raises(DataError) as error:
        filter_by_size(indices, src, tgt, 1024, max_tokens=256, on_invalid="raise", split="valid")
    assert str(error.value) == (
        "valid sentence pair 1 has 300 source and 6 target tokens, more than max_tokens=256: "
        "raise the limit, or skip such pairs"
    )


def test_epoch_order_is_fairseqs_seeded_shuffle_from_epoch_one() -> None:
    batches = [np.arange(i, i + 2) for i in range(0, 20, 2)]
    epochs = EpochBatches(batches, seed=3)
    np.random.seed(3 + 1)  # fairseq's first epoch is 1: numpy_seed(seed + epoch)
    expected = list(range(10))
    np.random.shuffle(expected)
    assert [int(b[0]) // 2 for b in epochs.order(0)] == expected
    assert [b.tolist() for b in epochs.order(0)] == [b.tolist() for b in epochs.order(0)]
    assert [b.tolist() for b in epochs.order(1)] != [b.tolist() for b in epochs.order(0)]
    fixed = EpochBatches(batches, seed=3, shuffle=False)
    assert [b.tolist() for b in fixed.order(5)] == [b.tolist() for b in batches]


@pytest.mark.parametrize("world_size", [1, 2, 3])
def test_ranks_take_whole_batches_and_resume_exactly(world_size: int) -> None:
    batches = [np.arange(i, i + 3) for i in range(0, 30, 3)]  # 10 batches
    epochs = EpochBatches(batches, seed=0)
    steps = epochs.steps(world_size)
    assert steps == -(-10 // world_size)
    per_rank = [list(epochs.rank_batches(2, 0, world_size, r)) for r in range(world_size)]
    order = epochs.order(2)
    for step in range(steps):
        for rank in range(world_size):
            position = step * world_size + rank
            expected = order[position].tolist() if position < 10 else []
            assert per_rank[rank][step].tolist() == expected
    for rank in range(world_size):
        resumed = list(epochs.rank_batches(2, 2, world_size, rank))
        assert [b.tolist() for b in resumed] == [b.tolist() for b in per_rank[rank][2:]]


def test_collate_pads_shifts_and_sorts_by_source_length() -> None:
    pairs = [
        (np.array([7, 2]), np.array([11, 2])),
        (np.array([5, 6, 2]), np.array([8, 9, 10, 2])),
    ]
    batch = collate(pairs, pad=1, eos=2, ids=[40, 41])
    assert batch["id"].tolist() == [41, 40]
    assert batch["src_tokens"].tolist() == [[5, 6, 2], [1, 7, 2]]  # left-padded
    assert batch["src_lengths"].tolist() == [3, 2]
    assert batch["target"].tolist() == [[8, 9, 10, 2], [11, 2, 1, 1]]  # right-padded
    assert batch["prev_output_tokens"].tolist() == [[2, 8, 9, 10], [2, 11, 1, 1]]
    assert batch["ntokens"] == 6 and batch["nsentences"] == 2
    assert batch["src_tokens"].dtype == batch["target"].dtype == torch.int64
    right = collate(pairs, pad=1, eos=2, left_pad_source=False)
    assert right["src_tokens"].tolist() == [[5, 6, 2], [7, 2, 1]]
    assert right["id"].tolist() == [1, 0]
