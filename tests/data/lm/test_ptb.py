"""Penn Treebank: the reader on tiny files in Mikolov's format against AWD-LSTM's ``data.py``
(re-derived here), the counts check and the missing-data message."""

from __future__ import annotations

from pathlib import Path

import pytest

from data import DataError, DataUnavailable
from data import download as download_command
from data.ptb.files import load_ptb
from data.sample_corpora import write_ptb


def awd_lstm_corpus(folder: Path) -> tuple[list[str], dict[str, list[int]]]:
    """data.Corpus: a dictionary by first occurrence over train, valid, test; every line's
    words and then <eos>."""
    words: list[str] = []
    index: dict[str, int] = {}
    ids: dict[str, list[int]] = {}
    for split in ("train", "valid", "test"):
        ids[split] = []
        with open(folder / f"ptb.{split}.txt") as stream:
            for line in stream:
                for word in [*line.split(), "<eos>"]:
                    if word not in index:
                        index[word] = len(words)
                        words.append(word)
                    ids[split].append(index[word])
    return words, ids


def test_the_reader_is_awd_lstm_s(tmp_path: Path) -> None:
    folder = write_ptb(tmp_path)
    ptb = load_ptb(tmp_path)
    words, ids = awd_lstm_corpus(folder)
    assert list(ptb.vocabulary.words) == words and ptb.vocabulary.unk == "<unk>"
    for split in ("train", "valid", "test"):
        assert ptb.ids[split].tolist() == ids[split]
    assert ptb.lines == {"train": 400, "valid": 60, "test": 60}
    assert sorted(ptb.checksums) == [f"ptb/ptb.{s}.txt" for s in ("test", "train", "valid")]


def test_missing_files_name_the_folder_and_the_command(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailable) as missing:
        load_ptb(tmp_path)
    message = str(missing.value)
    assert str(tmp_path / "ptb") in message and "ptb.train.txt" in message
    assert f"python -m scripts.download_data ptb --data-dir {tmp_path}" in message


def test_download_data_checks_the_release_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert download_command.main(["ptb", "--check", "--data-dir", str(tmp_path)]) == 2
    write_ptb(tmp_path)
    capsys.readouterr()
    assert download_command.main(["ptb", "--check", "--data-dir", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert "differs from Mikolov's release" in error and "929,589" in error


def test_a_file_that_is_not_utf8_is_one_line_naming_it(tmp_path: Path) -> None:
    folder = write_ptb(tmp_path)
    train = folder / "ptb.train.txt"
    clean = train.read_bytes()
    train.write_bytes(clean[:100] + b"\xff" + clean[100:])
    with pytest.raises(DataError) as raised:
        load_ptb(tmp_path)
    assert str(raised.value).startswith(f"{train} is not UTF-8 text (byte 100 cannot be decoded)")
