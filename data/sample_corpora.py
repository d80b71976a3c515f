"""Tiny corpora in the real on-disk formats, for the damaged-data fault trial
(``experiments.data_faults``) and the tests: written here, not by the readers, so the real readers,
caches and batching run on them.

- Mikolov's PTB files (``<data_dir>/ptb/ptb.{train,valid,test}.txt``);
- One Billion Word's r13 release folders (``news.en-000NN-of-00100`` training shards,
  ``news.en.heldout-000NN-of-00050`` held-out shards);
- the tokenized, BPE-segmented text of fairseq's ``prepare-iwslt14.sh``
  (``<data_dir>/iwslt14/iwslt14.tokenized.de-en/{train,valid,test}.{de,en}``) and of the Scaling
  NMT WMT'16 archive (``<data_dir>/wmt16/wmt16_en_de_bpe32k/*.tok[.clean].bpe.32000.{en,de}``).

Sentences are random words of small vocabularies (Zipf-like for the language-model corpora, so
some words are rare enough to become ``<unk>``). None of them is the published release: a task
built on them needs ``task.accept_corpus=true`` where the release's counts are checked.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

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
    root = Path(data_dir) / RELEASE
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


def write_ptb(data_dir: Path, train: int = 400, valid: int = 60, test: int = 60) -> Path:
    """``<data_dir>/ptb/ptb.{train,valid,test}.txt`` in Mikolov's format: a leading space, words
    separated by spaces, ``<unk>`` for rare words, one sentence per line."""
    folder = Path(data_dir) / "ptb"
    folder.mkdir(parents=True, exist_ok=True)
    for split, count, seed in (("train", train, 1), ("valid", valid, 2), ("test", test, 3)):
        lines = [" " + line.replace("w79", "<unk>") + " " for line in sentences(count, seed)]
        (folder / f"ptb.{split}.txt").write_text("\n".join(lines) + "\n")
    return folder


GERMAN = "der die das ein eine und ist nicht haus katze hund gut sch@@ ön ich du wir sie".split()
ENGLISH = "the a and is not house cat dog good beau@@ tiful i you we they it".split()
SPLITS = {"train": 96, "valid": 12, "test": 12}


def bpe_sentences(words: list[str], count: int, rng: random.Random, longest: int) -> list[str]:
    """``count`` lines of 1..longest words, none ending inside a BPE-segmented word."""
    lines = []
    for _ in range(count):
        line = " ".join(rng.choice(words) for _ in range(rng.randint(1, longest)))
        lines.append(line.removesuffix("@@"))
    return lines


def write_pairs(folder: Path, prefixes: dict[str, str], langs: dict[str, list[str]],
                seed: int, longest: int, sizes: dict[str, int]) -> None:  # fmt: skip
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, count in sizes.items():
        for lang, words in langs.items():
            lines = bpe_sentences(words, count, rng, longest)
            (folder / f"{prefixes[split]}.{lang}").write_text("\n".join(lines) + "\n")


def write_iwslt14(data_dir: Path, *, seed: int = 0, longest: int = 10,
                  sizes: dict[str, int] = SPLITS) -> Path:  # fmt: skip
    """IWSLT'14 de-en as ``prepare-iwslt14.sh`` leaves it; returns its folder."""
    folder = Path(data_dir) / "iwslt14" / "iwslt14.tokenized.de-en"
    prefixes = {split: split for split in SPLITS}
    write_pairs(folder, prefixes, {"de": GERMAN, "en": ENGLISH}, seed, longest, sizes)
    return folder


def write_wmt16(data_dir: Path, *, seed: int = 0, longest: int = 10,
                sizes: dict[str, int] = SPLITS) -> Path:  # fmt: skip
    """WMT'16 en-de as the Scaling NMT archive holds it; returns its folder."""
    folder = Path(data_dir) / "wmt16" / "wmt16_en_de_bpe32k"
    prefixes = {
        "train": "train.tok.clean.bpe.32000",
        "valid": "newstest2013.tok.bpe.32000",
        "test": "newstest2014.tok.bpe.32000",
    }
    write_pairs(folder, prefixes, {"en": ENGLISH, "de": GERMAN}, seed, longest, sizes)
    return folder
