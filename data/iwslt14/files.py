"""Where IWSLT'14 De-En lives under ``data_dir`` and what fairseq's preparation yields.

``<data_dir>/iwslt14/orig/de-en.tgz`` (and its ``de-en/`` folder): the archive fairseq's current
``prepare-iwslt14.sh`` downloads (the original WIT3 address is gone, fairseq issue #4110).
``<data_dir>/iwslt14/iwslt14.tokenized.de-en/``: the script's output, ``{train,valid,test}.{de,en}``
(Moses-tokenized, lowercased, joint BPE with 10k merges) and ``code``; a copy made by fairseq's own
script can be put there instead. ``<data_dir>/iwslt14/data-bin/iwslt14.tokenized.<src>-<tgt>/``:
the binarized cache (fairseq-preprocess's layout, separate dictionaries per language).
"""

from __future__ import annotations

from pathlib import Path

from data import DataError
from data.translation.corpus_types import CorpusSpec

ARCHIVE_URL = "https://dl.fbaipublicfiles.com/fairseq/data/iwslt14/de-en.tgz"
LANGUAGES = ("de", "en")
PREPARED = "iwslt14.tokenized.de-en"
RELEASE_PAIRS = {"train": 160_239, "valid": 7_283, "test": 6_750}
"""Sentence pairs per split after fairseq's ``prepare-iwslt14.sh``: the sizes its
``fairseq-preprocess`` run reports, as the public "IWSLT 2014 with fairseq preprocess" dataset
card records them (train 160239, validation 7283, test 6750); fairseq's own README gives no
counts. The download's check and the task's release check (``data.translation.corpus``)
read them."""
RELEASE = "fairseq's prepare-iwslt14.sh preparation"
TEST_SET = "IWSLT'14 TED dev2010 + TEDX dev2012 + TED tst2010-2012 (6,750 pairs)"
VALID_SET = "every 23rd cleaned training pair (7,283)"
PREPARE_COMMAND = "python -m scripts.download_data iwslt14 --data-dir {data_dir}"


def root(data_dir: Path) -> Path:
    return Path(data_dir) / "iwslt14"


def orig_dir(data_dir: Path) -> Path:
    return root(data_dir) / "orig"


def prepared_dir(data_dir: Path) -> Path:
    return root(data_dir) / PREPARED


def bin_dir(data_dir: Path, source_lang: str, target_lang: str) -> Path:
    return root(data_dir) / "data-bin" / f"iwslt14.tokenized.{source_lang}-{target_lang}"


def corpus_spec(source: str = "files") -> CorpusSpec:
    """The ``CorpusSpec`` of the prepared files (the only source of IWSLT'14)."""
    if source != "files":
        raise DataError(f"source={source!r} is invalid for iwslt14: files")
    return CorpusSpec(
        name="iwslt14",
        source="files",
        languages=LANGUAGES,
        text_dir=prepared_dir,
        text_prefixes={"train": "train", "valid": "valid", "test": "test"},
        bin_dir=bin_dir,
        prepare_command=lambda data_dir: PREPARE_COMMAND.format(data_dir=data_dir),
        valid_set=VALID_SET,
        test_set=TEST_SET,
    )
