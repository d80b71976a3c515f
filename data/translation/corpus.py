"""A parallel corpus ready to batch: ``load_corpus(name, source_lang, target_lang, data_dir)``.

A corpus package (``data/iwslt14``, ``data/wmt16``) describes its prepared text files with a
``CorpusSpec`` (``corpus_spec(source)`` in its ``files`` module). ``load_corpus`` binarizes them
once into a fairseq-style ``data-bin`` directory (``data.translation.cache``) and opens that:
dictionaries, one memory-mapped ``TokenArray`` per split and language, and checksums for the run's
``meta.json``. A ``data-bin`` directory written by ``fairseq-preprocess`` is read as it is.

``check_release`` compares the pairs of each split with the release the corpus package names
(``RELEASE_PAIRS`` in its ``files`` module: every split of IWSLT'14, the test sets of WMT'16) and
settles a difference with ``task.accept_corpus`` (``data.release_check``).

Errors are one line each: ``DataUnavailable`` (files missing; names the expected path and the
preparation command) and ``DataError`` (an unknown corpus or language pair, a dictionary that
does not match the binarized ids, source and target of different lengths).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from data import DataError
from data.release_check import count_difference, settle
from data.translation import cache
from data.translation.corpus_types import SPLITS, CorpusSpec, TranslationCorpus

__all__ = [
    "CORPORA", "SPLITS", "CorpusSpec", "TranslationCorpus", "check_corpus", "check_release",
    "corpus_spec", "load_corpus",
]  # fmt: skip

CORPORA = ("iwslt14", "wmt16")


def corpus_spec(name: str, source: str = "files") -> CorpusSpec:
    if name not in CORPORA:
        raise DataError(f"corpus {name!r} is unknown: one of {', '.join(CORPORA)}")
    module = importlib.import_module(f"data.{name}.files")
    return module.corpus_spec(source)


def check_pair(spec: CorpusSpec, source_lang: str, target_lang: str) -> None:
    first, second = spec.languages
    if {source_lang, target_lang} != {first, second}:
        raise DataError(
            f"language pair {source_lang!r}-{target_lang!r} is unknown for {spec.name}: "
            f"{first}-{second} or {second}-{first}"
        )


def load_corpus(
    name: str, source_lang: str, target_lang: str, data_dir: Path | str, *, source: str = "files"
) -> TranslationCorpus:
    """The corpus ``name`` in the direction ``source_lang`` -> ``target_lang``, binarizing its
    prepared text on first use (every later load maps the cached arrays)."""
    spec = corpus_spec(name, source)
    check_pair(spec, source_lang, target_lang)
    return cache.open_corpus(spec, Path(data_dir), source_lang, target_lang)


def check_corpus(
    name: str, source_lang: str, target_lang: str, data_dir: Path | str, *, source: str = "files"
) -> None:
    """What ``load_corpus`` would refuse before reading anything: an unknown corpus or pair
    (``DataError``), files that are missing (``DataUnavailable``). Reads no text or arrays."""
    spec = corpus_spec(name, source)
    check_pair(spec, source_lang, target_lang)
    cache.needs_binarizing(spec, Path(data_dir), source_lang, target_lang)


def check_release(
    corpus: TranslationCorpus, data_dir: Path | str, *, accept: bool
) -> dict[str, str]:
    """The loaded corpus against its release's pair counts: nothing when they match, else
    ``CorpusDiffers`` (one line naming each split's file, what it holds and what the release
    holds) or, when ``accept``, a line and the checksum entry recording the counts."""
    spec = corpus_spec(corpus.name, corpus.source)
    files = importlib.import_module(f"data.{corpus.name}.files")
    found = (
        count_difference(spec.text_prefixes[split], "pairs", len(corpus.splits[split][0]), pairs)
        for split, pairs in files.RELEASE_PAIRS.items()
    )
    what = f"{spec.name} ({spec.source}) in {spec.text_dir(Path(data_dir))}"
    differences = [difference for difference in found if difference]
    return settle(corpus.name, what, files.RELEASE, differences, accept=accept)
