"""fairseq's ``examples/translation/prepare-iwslt14.sh``, step by step, natively.

From the extracted archive ``orig/de-en/``:

1. training text ``train.tags.de-en.{de,en}``: lines containing ``<url>``, ``<talkid>`` or
   ``<keywords>`` dropped, the ``<title>``/``<description>`` tags (not their text) removed, then
   Moses-tokenized per language;
2. the pairs cleaned to 1-175 tokens with length ratio at most 1.5 (``clean-corpus-n.perl``), then
   lowercased;
3. every ``IWSLT14.TED*.{de,en}.xml``: its ``<seg id="N">`` lines without the tags, ``’`` turned
   into ``'``, tokenized and lowercased (not cleaned);
4. valid = every 23rd cleaned training pair (lines 23, 46, ...), train = the others; test = TED
   dev2010 + TEDX dev2012 + TED tst2010 + tst2011 + tst2012, in that order;
5. joint BPE: 10,000 merges learned on train.de followed by train.en, applied to every split.

The intermediate files go to ``<prepared>/tmp/`` as in the script.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from data import DataUnavailable
from data.iwslt14.files import LANGUAGES
from data.translation.preparation import (
    apply_bpe,
    clean_corpus,
    learn_bpe,
    lowercase,
    read_lines,
    tokenize_lines,
    write_lines,
)

PAIR = "de-en"
BPE_MERGES = 10_000
CLEAN_MIN, CLEAN_MAX, CLEAN_RATIO = 1, 175, 1.5
VALID_EVERY = 23
DROPPED_TAGS = ("<url>", "<talkid>", "<keywords>")
STRIPPED_TAGS = ("<title>", "</title>", "<description>", "</description>")
TEST_PARTS = (
    "IWSLT14.TED.dev2010",
    "IWSLT14.TEDX.dev2012",
    "IWSLT14.TED.tst2010",
    "IWSLT14.TED.tst2011",
    "IWSLT14.TED.tst2012",
)
SEG_OPEN = re.compile(r'<seg id="[0-9]*">\s*')
SEG_CLOSE = re.compile(r"\s*</seg>\s*")


def training_lines(path: Path) -> Iterator[str]:
    """The talk text of a ``train.tags`` file (the script's grep/sed filter)."""
    for line in read_lines(path):
        if any(tag in line for tag in DROPPED_TAGS):
            continue
        for tag in STRIPPED_TAGS:
            line = line.replace(tag, "")
        yield line


def segment_lines(path: Path) -> Iterator[str]:
    """The segments of an evaluation XML file, tags removed, ``’`` as ``'``."""
    for line in read_lines(path):
        if "<seg id" not in line:
            continue
        line = SEG_CLOSE.sub("", SEG_OPEN.sub("", line))
        yield line.replace("\u2019", "'")


def _require(path: Path, archive_dir: Path) -> Path:
    if not path.is_file():
        raise DataUnavailable(
            f"{path} is missing: {archive_dir} is not the extracted IWSLT'14 archive "
            "(fairseq's de-en.tgz)"
        )
    return path


def prepare(archive_dir: Path, prepared: Path, workers: int = 1) -> dict[str, int]:
    """Run the preparation from ``archive_dir`` (the extracted ``de-en/`` folder) into
    ``prepared``; the number of sentence pairs of each split."""
    for lang in LANGUAGES:
        _require(archive_dir / f"train.tags.{PAIR}.{lang}", archive_dir)
        for part in TEST_PARTS:
            _require(archive_dir / f"{part}.{PAIR}.{lang}.xml", archive_dir)
    tmp = prepared / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    tokenized = {}
    for lang in LANGUAGES:
        source = archive_dir / f"train.tags.{PAIR}.{lang}"
        tokenized[lang] = tmp / f"train.tags.{PAIR}.tok.{lang}"
        write_lines(tokenized[lang], tokenize_lines(training_lines(source), lang, workers))
    pairs = clean_corpus(
        read_lines(tokenized["de"]), read_lines(tokenized["en"]), CLEAN_MIN, CLEAN_MAX, CLEAN_RATIO
    )
    cleaned = list(pairs)
    for position, lang in enumerate(LANGUAGES):
        lines = (pair[position] for pair in cleaned)
        write_lines(tmp / f"train.tags.{PAIR}.{lang}", lowercase(lines))
    for lang in LANGUAGES:
        for xml in sorted(archive_dir.glob(f"IWSLT14.TED*.{lang}.xml")):
            segments = tokenize_lines(segment_lines(xml), lang, workers)
            write_lines(tmp / xml.name.removesuffix(".xml"), lowercase(segments))
    for lang in LANGUAGES:
        lines = list(read_lines(tmp / f"train.tags.{PAIR}.{lang}"))
        write_lines(tmp / f"valid.{lang}", lines[VALID_EVERY - 1 :: VALID_EVERY])
        write_lines(
            tmp / f"train.{lang}",
            (line for number, line in enumerate(lines, 1) if number % VALID_EVERY),
        )
        parts = [tmp / f"{part}.{PAIR}.{lang}" for part in TEST_PARTS]
        write_lines(tmp / f"test.{lang}", (line for part in parts for line in read_lines(part)))
    codes = prepared / "code"
    learn_bpe([tmp / f"train.{lang}" for lang in LANGUAGES], codes, BPE_MERGES, tmp)
    counts = {}
    for lang in LANGUAGES:
        for split in ("train", "valid", "test"):
            segmented = apply_bpe(codes, read_lines(tmp / f"{split}.{lang}"), workers)
            counts[split] = write_lines(prepared / f"{split}.{lang}", segmented)
    return counts
