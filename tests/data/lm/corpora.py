"""Tiny language-modelling corpora in the real on-disk formats, written here (not by the project's
code) so the real readers run on them: One Billion Word's r13 release folders, the hub's parquet
copy of it, and Mikolov's PTB files. Sentences are random words of a small Zipf-like vocabulary,
so some words are rare enough to become ``<unk>``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

RELEASE = "1-billion-word-language-modeling-benchmark-r13output"
TRAIN = "training-monolingual.tokenized.shuffled"
HELDOUT = "heldout-monolingual.tokenized.shuffled"


def sentences(count: int, seed: int, words: int = 80) -> list[str]:
    """``count`` sentences of 3–12 words drawn with P(word k) ∝ 1/(k + 1)."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, words + 1)
    weights /= weights.sum()
    vocabulary = [f"w{k}" for k in range(words)]
    return [
        " ".join(rng.choice(vocabulary, size=int(rng.integers(3, 13)), p=weights))
        for _ in range(count)
    ]


def write_release(
    data_dir: Path, train_shards: int = 3, heldout_shards: int = 3, per_shard: int = 120
) -> dict[str, list[list[str]]]:
    """The r13 folders with ``train_shards`` training shards (news.en-00001..) and
    ``heldout_shards`` held-out shards (news.en.heldout-00000..), a blank line in the first
    training shard (the reference skips it). Returns {"train": [...], "heldout": [...]} as the
    sentences of each shard."""
    root = data_dir / RELEASE
    (root / TRAIN).mkdir(parents=True, exist_ok=True)
    (root / HELDOUT).mkdir(parents=True, exist_ok=True)
    written: dict[str, list[list[str]]] = {"train": [], "heldout": []}
    for index in range(train_shards):
        lines = sentences(per_shard, seed=index)
        text = "\n".join(lines) + "\n"
        if index == 0:
            text = text.replace("\n", "\n\n", 1)
        (root / TRAIN / f"news.en-{index + 1:05d}-of-00100").write_text(text)
        written["train"].append(lines)
    for index in range(heldout_shards):
        lines = sentences(per_shard // 3, seed=1000 + index)
        path = root / HELDOUT / f"news.en.heldout-{index:05d}-of-00050"
        path.write_text("\n".join(lines) + "\n")
        written["heldout"].append(lines)
    return written


def write_parquet(data_dir: Path, train: list[str], test: list[str], files: int = 2) -> Path:
    """The hub snapshot layout ``lm1b-parquet/plain_text/{train,test}/NNNN.parquet`` with a
    ``text`` column, the training rows spread over ``files`` files."""
    root = data_dir / "lm1b-parquet" / "plain_text"
    for split, rows, parts in (("train", train, files), ("test", test, 1)):
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        for part, chunk in enumerate(np.array_split(np.array(rows, dtype=object), parts)):
            table = pa.table({"text": pa.array(list(chunk), type=pa.string())})
            pq.write_table(table, folder / f"{part:04d}.parquet")
    return root.parent


def write_ptb(data_dir: Path, train: int = 400, valid: int = 60, test: int = 60) -> Path:
    """``<data_dir>/ptb/ptb.{train,valid,test}.txt`` in Mikolov's format: a leading space, words
    separated by spaces, ``<unk>`` for rare words, one sentence per line."""
    folder = data_dir / "ptb"
    folder.mkdir(parents=True, exist_ok=True)
    for split, count, seed in (("train", train, 1), ("valid", valid, 2), ("test", test, 3)):
        lines = [" " + line.replace("w79", "<unk>") + " " for line in sentences(count, seed)]
        (folder / f"ptb.{split}.txt").write_text("\n".join(lines) + "\n")
    return folder
