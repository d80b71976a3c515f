"""Penn Treebank as Mikolov's ``simple-examples`` release ships it: ``ptb.train.txt``,
``ptb.valid.txt`` and ``ptb.test.txt`` (one sentence per line, 10,000 words, rare words already
``<unk>``), looked up in ``<data_dir>/ptb/`` and then ``<data_dir>/simple-examples/data/``.

Read as AWD-LSTM's ``data.py`` reads them (the AdaBelief repository's PTB code): every line's
words followed by ``<eos>``, ids in order of first occurrence over train, valid, test. The
release has 42,068 / 3,370 / 3,761 lines and 929,589 / 73,760 / 82,430 tokens with ``<eos>``
(``RELEASE_*``, counted on ``simple-examples.tgz``'s ``data/ptb.*.txt``; the download's check and
the task's ``release_differences`` read them). No public source publishes the files' sha256, so
the release is checked by counts; each file's sha256 is recorded in the run's checksums.
The hub copy (``ptb_text_only``) is script-based and no longer loads with ``datasets`` >= 4.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data import DataUnavailable
from data.release_check import count_difference
from data.text_lines import utf8_lines
from data.token_stream.vocabulary import PTB_EOS, Vocabulary, file_sha256

SPLITS = ("train", "valid", "test")
FOLDERS = ("ptb", "simple-examples/data")
RELEASE_LINES = {"train": 42_068, "valid": 3_370, "test": 3_761}
RELEASE_TOKENS = {"train": 929_589, "valid": 73_760, "test": 82_430}
RELEASE_VOCABULARY = 10_000
DOWNLOAD_COMMAND = "python -m scripts.download_data ptb --data-dir {data_dir}"


@dataclass(frozen=True)
class PennTreebank:
    vocabulary: Vocabulary
    ids: dict[str, np.ndarray]
    """int64 ids of each split (``train``, ``valid``, ``test``)."""
    lines: dict[str, int]
    folder: Path
    checksums: dict[str, str]


def file_name(split: str) -> str:
    return f"ptb.{split}.txt"


def find_folder(data_dir: str | Path) -> Path:
    """The first of ``<data_dir>/ptb`` and ``<data_dir>/simple-examples/data`` holding the three
    files; ``DataUnavailable`` naming the expected path otherwise."""
    for folder in FOLDERS:
        path = Path(data_dir) / folder
        if all((path / file_name(split)).is_file() for split in SPLITS):
            return path
    expected = Path(data_dir) / FOLDERS[0]
    names = ", ".join(file_name(split) for split in SPLITS)
    command = DOWNLOAD_COMMAND.format(data_dir=data_dir)
    raise DataUnavailable(
        f"Penn Treebank not found: expected {names} in {expected}; run `{command}`"
    )


def _lines(path: Path) -> list[str]:
    """The file's lines as Python's text iteration yields them (split at newlines only)."""
    return list(utf8_lines(path, newline="\n"))


def load_ptb(data_dir: str | Path) -> PennTreebank:
    folder = find_folder(data_dir)
    texts = {split: _lines(folder / file_name(split)) for split in SPLITS}
    vocabulary = Vocabulary.from_first_occurrence((texts[s] for s in SPLITS), PTB_EOS)
    ids = {
        split: vocabulary.encode_lines(texts[split], skip_empty=False).astype(np.int64)
        for split in SPLITS
    }
    checksums = {f"ptb/{file_name(s)}": file_sha256(folder / file_name(s)) for s in SPLITS}
    lines = {split: len(texts[split]) for split in SPLITS}
    return PennTreebank(vocabulary, ids, lines, folder, checksums)


def release_differences(ptb: PennTreebank) -> list[str]:
    """What differs from Mikolov's release, one phrase per file (lines, then tokens with
    ``<eos>``) and one for the vocabulary; empty when the counts match."""
    found = []
    for split in SPLITS:
        name = file_name(split)
        found.append(count_difference(name, "lines", ptb.lines[split], RELEASE_LINES[split]))
        tokens = len(ptb.ids[split])
        found.append(count_difference(name, "tokens", tokens, RELEASE_TOKENS[split]))
    size = len(ptb.vocabulary)
    found.append(count_difference("vocabulary", "words", size, RELEASE_VOCABULARY))
    return [difference for difference in found if difference]
