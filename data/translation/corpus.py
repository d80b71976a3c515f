"""A parallel corpus ready to batch: ``load_corpus(name, source_lang, target_lang, data_dir)``.

A corpus package (``data/iwslt14``, ``data/wmt16``) describes its prepared text files with a
``CorpusSpec`` (``corpus_spec(source)`` in its ``files`` module). ``load_corpus`` binarizes them
once into a fairseq-style ``data-bin`` directory (``data.translation.cache``) and opens that:
dictionaries, one memory-mapped ``TokenArray`` per split and language, and checksums for the run's
``meta.json``. A ``data-bin`` directory written by ``fairseq-preprocess`` is read as it is.

Errors are one line each: ``DataUnavailable`` (files missing; names the expected path and the
preparation command) and ``ConfigError`` (an unknown corpus or language pair, a dictionary that
does not match the binarized ids, source and target of different lengths).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from data.translation.binarized import TokenArray
from data.translation.dictionary import Dictionary
from experiments.config_checks import ConfigError

CORPORA = ("iwslt14", "wmt16")
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


def corpus_spec(name: str, source: str = "files") -> CorpusSpec:
    if name not in CORPORA:
        raise ConfigError(f"corpus {name!r} is unknown: one of {', '.join(CORPORA)}")
    module = importlib.import_module(f"data.{name}.files")
    return module.corpus_spec(source)


def check_pair(spec: CorpusSpec, source_lang: str, target_lang: str) -> None:
    first, second = spec.languages
    if {source_lang, target_lang} != {first, second}:
        raise ConfigError(
            f"language pair {source_lang!r}-{target_lang!r} is unknown for {spec.name}: "
            f"{first}-{second} or {second}-{first}"
        )


def load_corpus(
    name: str, source_lang: str, target_lang: str, data_dir: Path | str, *, source: str = "files"
) -> TranslationCorpus:
    """The corpus ``name`` in the direction ``source_lang`` -> ``target_lang``, binarizing its
    prepared text on first use (every later load maps the cached arrays)."""
    from data.translation import cache

    spec = corpus_spec(name, source)
    check_pair(spec, source_lang, target_lang)
    return cache.open_corpus(spec, Path(data_dir), source_lang, target_lang)
