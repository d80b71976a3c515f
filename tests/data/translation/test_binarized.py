"""``TokenArray``: fairseq's mmap ``.bin``/``.idx`` files, written and mapped back."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from data.translation.binarized import TokenArray
from data.translation.dictionary import Dictionary

LINES = ["das haus ist klein", "", "der garten", "das unbekannte haus"]


def test_written_ids_read_back_as_encode_line(tmp_path: Path) -> None:
    dictionary = Dictionary.build([LINES[:3]])
    array, counts = TokenArray.write(tmp_path / "train.de-en.de", LINES, dictionary)
    assert counts == {"sentences": 4, "tokens": 13, "unknown": 1}
    assert len(array) == 4 and array.sizes.tolist() == [5, 1, 3, 4]
    for i, line in enumerate(LINES):
        assert array[i].dtype == np.int64
        assert array[i].tolist() == dictionary.encode_line(line).tolist()
    assert array.max_id() == max(int(array[i].max()) for i in range(4))
    assert isinstance(TokenArray(tmp_path / "train.de-en.de")._data, np.memmap)


def test_the_files_are_fairseqs_mmap_format(tmp_path: Path) -> None:
    """Parsed here by hand: magic, version 1, dtype code (8 = uint16), count, int32 sizes and
    int64 byte offsets; the .bin file is the ids back to back."""
    dictionary = Dictionary.build([LINES])
    TokenArray.write(tmp_path / "valid.de-en.de", LINES, dictionary)
    index = (tmp_path / "valid.de-en.de.idx").read_bytes()
    assert index[:9] == b"MMIDIDX\x00\x00"
    assert struct.unpack("<QBQ", index[9:26]) == (1, 8, 4)
    sizes = np.frombuffer(index[26:42], dtype=np.int32).tolist()
    pointers = np.frombuffer(index[42:74], dtype=np.int64).tolist()
    assert sizes == [5, 1, 3, 4] and pointers == [0, 10, 12, 18] and len(index) == 74
    data = np.frombuffer((tmp_path / "valid.de-en.de.bin").read_bytes(), dtype=np.uint16)
    expected = np.concatenate([dictionary.encode_line(line) for line in LINES])
    assert data.tolist() == expected.tolist()


def test_large_dictionaries_store_int32_ids(tmp_path: Path) -> None:
    dictionary = Dictionary()
    for i in range(65_600):
        dictionary.add_symbol(f"w{i}")
    array, _ = TokenArray.write(tmp_path / "big", ["w65000 w1"], dictionary)
    assert array.dtype == np.int32 and (tmp_path / "big.idx").read_bytes()[17] == 4
    assert array[0].tolist() == [65_004, 5, 2]


def test_empty_and_broken_arrays(tmp_path: Path) -> None:
    empty, counts = TokenArray.write(tmp_path / "empty", [], Dictionary())
    assert len(empty) == 0 and empty.max_id() == -1 and counts["tokens"] == 0
    TokenArray.write(tmp_path / "cut", LINES, Dictionary.build([LINES]))
    index = tmp_path / "cut.idx"
    index.write_bytes(index.read_bytes()[:-8])
    with pytest.raises(ValueError, match=r"cut.idx has 66 bytes, expected 74"):
        TokenArray(tmp_path / "cut")
    index.write_bytes(b"garbage" * 5)
    with pytest.raises(ValueError, match="not a fairseq mmap index"):
        TokenArray(tmp_path / "cut")
