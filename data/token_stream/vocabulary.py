"""Word vocabularies: counted with a frequency threshold (One Billion Word) or in order of first
occurrence (Penn Treebank), saved as JSON and identified by the SHA-256 of that file.

Two rules, each as its reference builds it:

- ``from_counts`` (RAdam repository, ``language-model/pre_word_ada/gene_map.py`` and
  ``encode_data2folder.py``): every whitespace-separated word of the non-empty training lines is
  counted, and the end-of-sentence token once per such line; words seen more than ``threshold``
  times keep their own id, the others become ``<unk>`` (whose count is theirs summed); ids follow
  the count, most frequent first, ties in order of first occurrence (the sort is stable; the
  boundary token comes first and ``<unk>`` last among equals). The adaptive softmax's cutoffs rely
  on this frequency order.
- ``from_first_occurrence`` (AWD-LSTM's ``data.py`` as the AdaBelief repository runs it): ids in
  the order words first appear in train, then valid, then test; no threshold (Mikolov's PTB files
  already hold ``<unk>``).

The end-of-sentence token of One Billion Word is the reference's own ``"\\n"``: no word of a
whitespace-split line can equal it, so it never collides with a corpus word.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

UNK = "<unk>"
NEWLINE_EOS = "\n"
"""One Billion Word's end-of-sentence token, as the RAdam reference stores it."""
PTB_EOS = "<eos>"
"""Penn Treebank's end-of-sentence token (AWD-LSTM ``data.py``)."""


def count_words(lines: Iterable[str], counts: Counter, eos: str) -> int:
    """Add the words of ``lines`` to ``counts`` (and ``eos`` once per non-empty line); returns the
    number of non-empty lines. ``counts`` keeps first-occurrence order (a dict)."""
    sentences = 0
    for line in lines:
        words = line.split()
        if words:
            counts.update(words)
            sentences += 1
    counts[eos] += sentences
    return sentences


@dataclass(frozen=True)
class Vocabulary:
    words: tuple[str, ...]
    eos: str
    unk: str | None = None
    counts: tuple[int, ...] | None = None
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {word: i for i, word in enumerate(self.words)})

    def __len__(self) -> int:
        return len(self.words)

    @property
    def eos_id(self) -> int:
        return self.index[self.eos]

    @property
    def unk_id(self) -> int | None:
        return None if self.unk is None else self.index[self.unk]

    @classmethod
    def from_counts(cls, counts: Counter, threshold: int, eos: str, unk: str = UNK) -> Vocabulary:
        """The RAdam reference's rule (module docstring). A literal ``<unk>`` in the corpus is
        counted as ``<unk>``."""
        if eos not in counts:
            raise ValueError(f"the counts have no end-of-sentence token {eos!r}")
        kept = [(w, c) for w, c in counts.items() if c > threshold and w != unk]
        rare = sum(c for w, c in counts.items() if c <= threshold or w == unk)
        ordered = sorted([*kept, (unk, rare)], key=lambda item: -item[1])
        return cls(tuple(w for w, _ in ordered), eos, unk, tuple(c for _, c in ordered))

    @classmethod
    def from_first_occurrence(cls, files: Iterable[Iterable[str]], eos: str) -> Vocabulary:
        """AWD-LSTM's dictionary: every line's words and then ``eos``, in order of appearance."""
        seen: dict[str, None] = {}
        for lines in files:
            for line in lines:
                seen.update(dict.fromkeys(line.split()))
                seen.setdefault(eos)
        unk = UNK if UNK in seen else None
        return cls(tuple(seen), eos, unk)

    def encode_line(self, line: str, *, skip_empty: bool) -> list[int]:
        """The ids of one line and its end-of-sentence token ([] for an empty line when
        ``skip_empty``, as the One Billion Word reference drops blank lines)."""
        words = line.split()
        if skip_empty and not words:
            return []
        unk = self.unk_id
        if unk is None:
            ids = [self.index[word] for word in words]
        else:
            get = self.index.get
            ids = [get(word, unk) for word in words]
        ids.append(self.eos_id)
        return ids

    def encode_lines(self, lines: Iterable[str], *, skip_empty: bool) -> np.ndarray:
        ids: list[int] = []
        for line in lines:
            ids.extend(self.encode_line(line, skip_empty=skip_empty))
        return np.asarray(ids, dtype=np.int32)

    def save(self, path: Path) -> str:
        """Write the vocabulary as JSON; returns the file's SHA-256."""
        payload = {"eos": self.eos, "unk": self.unk, "words": list(self.words)}
        if self.counts is not None:
            payload["counts"] = list(self.counts)
        text = json.dumps(payload, ensure_ascii=False)
        path.write_text(text, encoding="utf-8")
        return file_sha256(path)

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        payload = json.loads(path.read_text(encoding="utf-8"))
        counts = payload.get("counts")
        return cls(
            tuple(payload["words"]),
            payload["eos"],
            payload.get("unk"),
            None if counts is None else tuple(counts),
        )


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(chunk):
            digest.update(block)
    return digest.hexdigest()
