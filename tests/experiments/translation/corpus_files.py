"""Tiny parallel corpora written in the real on-disk formats the translation task reads:
the tokenized, BPE-segmented text files of fairseq's ``prepare-iwslt14.sh``
(``<data_dir>/iwslt14/iwslt14.tokenized.de-en/{train,valid,test}.{de,en}``) and of the Scaling
NMT WMT'16 archive (``<data_dir>/wmt16/wmt16_en_de_bpe32k/*.tok[.clean].bpe.32000.{en,de}``).
The task binarizes them on first use, as it does the real corpora."""

from __future__ import annotations

import random
from pathlib import Path

GERMAN = "der die das ein eine und ist nicht haus katze hund gut sch@@ ön ich du wir sie".split()
ENGLISH = "the a and is not house cat dog good beau@@ tiful i you we they it".split()
SPLITS = {"train": 96, "valid": 12, "test": 12}


def sentences(words: list[str], count: int, rng: random.Random, longest: int) -> list[str]:
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
            lines = sentences(words, count, rng, longest)
            (folder / f"{prefixes[split]}.{lang}").write_text("\n".join(lines) + "\n")


def write_iwslt14(data_dir: Path, *, seed: int = 0, longest: int = 10,
                  sizes: dict[str, int] = SPLITS) -> Path:  # fmt: skip
    folder = Path(data_dir) / "iwslt14" / "iwslt14.tokenized.de-en"
    prefixes = {split: split for split in SPLITS}
    write_pairs(folder, prefixes, {"de": GERMAN, "en": ENGLISH}, seed, longest, sizes)
    return folder


def write_wmt16(data_dir: Path, *, seed: int = 0, longest: int = 10,
                sizes: dict[str, int] = SPLITS) -> Path:  # fmt: skip
    folder = Path(data_dir) / "wmt16" / "wmt16_en_de_bpe32k"
    prefixes = {
        "train": "train.tok.clean.bpe.32000",
        "valid": "newstest2013.tok.bpe.32000",
        "test": "newstest2014.tok.bpe.32000",
    }
    write_pairs(folder, prefixes, {"en": ENGLISH, "de": GERMAN}, seed, longest, sizes)
    return folder
