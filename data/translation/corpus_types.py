"""What a parallel corpus is on disk and once opened: ``CorpusSpec`` (where a corpus package's
prepared text lives and how fairseq-preprocess binarizes it) and ``TranslationCorpus`` (the
dictionaries and memory-mapped splits the cache opens). Kept apart from ``corpus`` and ``cache``
so that both, and the corpus packages' ``files`` modules, can import them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from data.translation.binarized import TokenArray
from data.translation.dictionary import Dictionary

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class CorpusSpec:
    """Where a corpus's prepared text lives and how fairseq-preprocess binarizes it."""

    name: str
    source: str
    """Which copy of the corpus: ``files`` (a local copy of the reference files) or ``hub``."""
    languages: tuple[str, str]
    text_dir: Callable[[Path], Path]
    """``data_dir`` -> the folder of the tokenized, BPE-applied text files."""
    text_prefixes: dict[str, str]
    """Split -> file prefix in ``text_dir`` (``<prefix>.<lang>``)."""
    bin_dir: Callable[[Path, str, str], Path]
    """(data_dir, source, target) -> the ``data-bin`` folder of that direction."""
    prepare_command: Callable[[Path], str]
    valid_set: str
    test_set: str
    joined_dictionary: bool = False
    nwords: int = -1
    """``--nwordssrc/--nwordstgt`` (-1: every symbol)."""
    bpe: str = "@@ "
    """The ``--remove-bpe`` symbol of the text."""
    extra: dict[str, str] = field(default_factory=dict)

    def text_path(self, data_dir: Path, split: str, lang: str) -> Path:
        return self.text_dir(data_dir) / f"{self.text_prefixes[split]}.{lang}"


@dataclass
class TranslationCorpus:
    source_lang: str
    target_lang: str
    src_dict: Dictionary
    tgt_dict: Dictionary
    splits: dict[str, tuple[TokenArray, TokenArray]]
    """``train``, ``valid``, ``test`` -> (source ids, target ids)."""
    checksums: dict[str, str]
    """sha256 of each dictionary file and binarized array (for ``meta.json``)."""
    test_set: str
    """Which test set ``test`` is, e.g. ``newstest2014``."""
    valid_set: str
    name: str = ""
    source: str = "files"
    bpe: str = "@@ "
    """The BPE symbol to remove before BLEU (``--remove-bpe``)."""
    directory: Path = Path()
    """The ``data-bin`` folder the arrays are mapped from."""
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per array: sentences, tokens and ``<unk>`` replacements (when binarized here)."""
