"""Where WMT'16 En-De lives under ``data_dir``, for each source.

``files``: a local copy of the preprocessed WMT'16 En-De archive that fairseq's Scaling-NMT
example trains on (``examples/scaling_nmt/README.md``: Google's ``wmt16_en_de.tar.gz``, made by
google/seq2seq ``bin/data/wmt16_en_de.sh``), extracted into
``<data_dir>/wmt16/wmt16_en_de_bpe32k/``: ``train.tok.clean.bpe.32000.{en,de}``,
``newstest2013.tok.bpe.32000.{en,de}`` (validation) and ``newstest2014.tok.bpe.32000.{en,de}``
(test).

``hub``: the same recipe run natively (``data.wmt16.hub``) on the hub's parquet files
(``wmt/wmt16`` ``de-en`` train; ``wmt/wmt14`` ``de-en`` validation = newstest2013 and test =
newstest2014, since ``wmt/wmt16``'s own validation/test are newstest2015/2016), written with the
same file names into ``<data_dir>/wmt16/wmt16_en_de_hub_bpe32k/``.

Both are binarized with one joined dictionary of at most 32,768 symbols
(``fairseq-preprocess --joined-dictionary --nwordssrc 32768 --nwordstgt 32768``) into
``<data_dir>/wmt16/data-bin/wmt16_<src>_<tgt>[_hub]_bpe32k/``.
"""

from __future__ import annotations

from pathlib import Path

from data import DataError
from data.translation.corpus_types import CorpusSpec

LANGUAGES = ("en", "de")
SOURCES = ("files", "hub")
BPE_MERGES = 32_000
NWORDS = 32_768
PREFIXES = {
    "train": f"train.tok.clean.bpe.{BPE_MERGES}",
    "valid": f"newstest2013.tok.bpe.{BPE_MERGES}",
    "test": f"newstest2014.tok.bpe.{BPE_MERGES}",
}
RELEASE_PAIRS = {"valid": 3_000, "test": 3_003}
"""Sentence pairs of newstest2013 and newstest2014 (En-De), the sizes of the WMT test sets
(and of the archive's ``newstest201{3,4}.tok.bpe.32000.*``). The training split's published
size could not be confirmed from a public source, so it is hashed and recorded, not checked."""
RELEASE = "the Scaling-NMT WMT'16 En-De data (newstest2013, newstest2014)"
TEST_SET = "newstest2014"
VALID_SET = "newstest2013"
HUB_REPOS = {"train": ("wmt/wmt16", "train"), "valid": ("wmt/wmt14", "validation"),
             "test": ("wmt/wmt14", "test")}  # fmt: skip
HUB_CONFIG = "de-en"
COMMANDS = {
    "files": "extract fairseq's Scaling-NMT WMT'16 archive (wmt16_en_de.tar.gz) into {folder}",
    "hub": "python -m scripts.download_data wmt16 --data-dir {data_dir}",
}


def root(data_dir: Path) -> Path:
    return Path(data_dir) / "wmt16"


def prepared_dir(data_dir: Path, source: str = "files") -> Path:
    name = "wmt16_en_de_bpe32k" if source == "files" else "wmt16_en_de_hub_bpe32k"
    return root(data_dir) / name


def hub_dir(data_dir: Path) -> Path:
    """``<data_dir>/wmt16/hub/``: ``wmt16/de-en/*.parquet`` and ``wmt14/de-en/*.parquet``."""
    return root(data_dir) / "hub"


def bin_dir(data_dir: Path, source_lang: str, target_lang: str, source: str = "files") -> Path:
    suffix = "" if source == "files" else "_hub"
    return root(data_dir) / "data-bin" / f"wmt16_{source_lang}_{target_lang}{suffix}_bpe32k"


def prepare_command(data_dir: Path, source: str) -> str:
    return COMMANDS[source].format(folder=prepared_dir(data_dir, source), data_dir=data_dir)


def corpus_spec(source: str = "files") -> CorpusSpec:
    if source not in SOURCES:
        raise DataError(f"source={source!r} is invalid for wmt16: one of {', '.join(SOURCES)}")
    return CorpusSpec(
        name="wmt16",
        source=source,
        languages=LANGUAGES,
        text_dir=lambda data_dir: prepared_dir(data_dir, source),
        text_prefixes=dict(PREFIXES),
        bin_dir=lambda data_dir, src, tgt: bin_dir(data_dir, src, tgt, source),
        prepare_command=lambda data_dir: prepare_command(data_dir, source),
        valid_set=VALID_SET,
        test_set=TEST_SET,
        joined_dictionary=True,
        nwords=NWORDS,
    )
