"""Vocabularies, id files, the column layouts and the BPTT windows against the references' rules,
re-derived here in plain Python/numpy (RAdam ``gene_map.py`` / ``encode_data2folder.py`` /
``dataset.py``; AWD-LSTM ``data.py`` / ``utils.py`` / ``main.py``)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from data.sample_corpora import sentences
from data.token_stream.bptt import random_windows
from data.token_stream.columns import PAD_TARGET, Columns, fixed_windows, rank_columns
from data.token_stream.id_files import IdFileWriter, open_ids
from data.token_stream.vocabulary import NEWLINE_EOS, PTB_EOS, Vocabulary, count_words


def reference_vocabulary(lines: list[str], threshold: int) -> list[tuple[str, int]]:
    """gene_map.py + encode_data2folder.py: counts with '\\n' first, rare words pooled into
    <unk> appended last, then a stable sort by count, most frequent first."""
    counts = {"\n": 0}
    for line in lines:
        if not line or line.isspace():
            continue
        for word in line.split():
            counts[word] = counts.get(word, 0) + 1
        counts["\n"] += 1
    kept = [(w, c) for w, c in counts.items() if c > threshold]
    kept.append(("<unk>", sum(c for c in counts.values() if c <= threshold)))
    kept.sort(key=lambda item: item[1], reverse=True)
    return kept


def test_the_threshold_vocabulary_is_the_reference_s() -> None:
    lines = sentences(300, seed=5) + ["", "   "]
    counts: Counter = Counter({NEWLINE_EOS: 0})
    assert count_words(lines, counts, NEWLINE_EOS) == 300
    vocabulary = Vocabulary.from_counts(counts, 3, NEWLINE_EOS)
    expected = reference_vocabulary(lines, 3)
    assert list(zip(vocabulary.words, vocabulary.counts, strict=True)) == expected
    assert vocabulary.counts[vocabulary.eos_id] == 300  # one per non-blank line
    rare = [w for w, c in Counter(" ".join(lines).split()).items() if c <= 3]
    assert rare and all(w not in vocabulary.index for w in rare)
    ids = vocabulary.encode_line(f"{rare[0]} w0", skip_empty=True)
    assert ids == [vocabulary.unk_id, vocabulary.index["w0"], vocabulary.eos_id]
    assert vocabulary.encode_line("  ", skip_empty=True) == []


def test_a_literal_unk_in_the_corpus_is_the_unk_entry() -> None:
    counts: Counter = Counter({NEWLINE_EOS: 0})
    count_words(["<unk> a a a a", "<unk> b"] * 3, counts, NEWLINE_EOS)
    vocabulary = Vocabulary.from_counts(counts, 3, NEWLINE_EOS)
    assert vocabulary.words.count("<unk>") == 1
    assert vocabulary.counts[vocabulary.unk_id] == 6 + 3  # six literal <unk>, three rare "b"


def test_the_first_occurrence_dictionary_is_awd_lstm_s(tmp_path: Path) -> None:
    files = [["the cat sat", "a dog"], ["the bird"], ["cat <unk>"]]
    vocabulary = Vocabulary.from_first_occurrence(files, PTB_EOS)
    expected: list[str] = []
    for lines in files:
        for line in lines:
            for word in [*line.split(), PTB_EOS]:
                if word not in expected:
                    expected.append(word)
    assert list(vocabulary.words) == expected
    assert vocabulary.unk == "<unk>"
    path = tmp_path / "vocab.json"
    digest = vocabulary.save(path)
    assert Vocabulary.load(path) == vocabulary and len(digest) == 64


def test_id_files_round_trip_through_a_memory_map(tmp_path: Path) -> None:
    path = tmp_path / "ids"
    chunks = [np.arange(7), np.arange(100, 103)]
    with IdFileWriter(path) as writer:
        for chunk in chunks:
            writer.append(chunk)
    ids = open_ids(path, writer.count)
    assert isinstance(ids, np.memmap) and not ids.flags.writeable
    assert ids.tolist() == np.concatenate(chunks).tolist()
    with pytest.raises(ValueError, match="expected 11 int32 ids"):
        open_ids(path, 11)


def test_truncated_columns_are_the_radam_large_dataset_layout() -> None:
    data = np.arange(1000, 1000 + 173)
    batch, bptt = 4, 5
    columns = Columns.truncated(0, len(data), batch, bptt)
    res = (len(data) - 1) - (len(data) - 1) % (batch * bptt)  # dataset.py open_next
    x = data[:res].reshape(batch, -1, bptt).transpose(1, 2, 0)  # (batches, T, B)
    y = data[1 : res + 1].reshape(batch, -1, bptt).transpose(1, 2, 0)
    assert columns.rows // bptt == len(x)
    for k in range(len(x)):
        inputs, targets = columns.window(data, k * bptt, bptt)
        assert (inputs == x[k]).all() and (targets == y[k]).all()


def test_batchified_columns_and_awd_windows_are_awd_lstm_s() -> None:
    data = np.arange(5000, 5000 + 409)
    batch = 6
    columns = Columns.batchified(0, len(data), batch)
    nbatch = len(data) // batch  # utils.batchify
    source = data[: nbatch * batch].reshape(batch, nbatch).T
    windows = random_windows(len(source), 70, seed=3, epoch=0, salt="t")
    covered = 0
    for window in windows:  # utils.get_batch
        seq_len = min(window.drawn, len(source) - 1 - window.start)
        assert window.length == seq_len
        inputs, targets = columns.window(data, window.start, window.length)
        assert (inputs == source[window.start : window.start + seq_len]).all()
        assert (targets == source[window.start + 1 : window.start + 1 + seq_len]).all()
        covered += window.drawn
    assert windows[-1].start < len(source) - 2 <= covered  # main.py: while i < rows - 2


def test_all_pairs_with_one_column_is_the_reference_eval_stream() -> None:
    data = np.arange(300)
    columns = Columns.all_pairs(0, len(data), 1)
    windows = fixed_windows(columns.rows, 128)
    assert [length for _, length in windows] == [128, 128, 43]  # EvalDataset: chunks + tail
    targets = np.concatenate([columns.window(data, s, n)[1][:, 0] for s, n in windows])
    assert targets.tolist() == data[1:].tolist()  # every target once


def test_uneven_columns_pad_their_targets() -> None:
    data = np.arange(12)  # 11 pairs over 3 columns: 4, 4, 3
    columns = Columns.all_pairs(0, len(data), 3)
    assert columns.pairs.tolist() == [4, 4, 3] and columns.starts.tolist() == [0, 4, 8]
    inputs, targets = columns.window(data, 0, 4)
    assert targets[:, 0].tolist() == [1, 2, 3, 4] and targets[:, 2].tolist() == [9, 10, 11, -1]
    assert (targets != PAD_TARGET).sum() == 11
    assert rank_columns(3, 0, 2) == (0, 2) and rank_columns(3, 1, 2) == (2, 3)


def test_random_windows_depend_on_seed_and_epoch_only() -> None:
    first = random_windows(5000, 70, seed=1, epoch=4, salt="ptb")
    assert first == random_windows(5000, 70, seed=1, epoch=4, salt="ptb")
    assert first != random_windows(5000, 70, seed=1, epoch=5, salt="ptb")
    drawn = np.array([window.drawn for window in first])
    assert drawn.min() >= 5 and 60 <= np.median(drawn) <= 80
    halves = np.mean(drawn < 55)  # N(35, 5) draws, probability 0.05
    assert 0.0 < halves < 0.2
