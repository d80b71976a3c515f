"""``Dictionary``: fairseq's order, special ids, padding and ``dict.<lang>.txt`` files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from data.translation.dictionary import Dictionary


def test_symbols_are_ordered_by_count_then_alphabetically_after_the_specials() -> None:
    dictionary = Dictionary.build([["b a c a", "c a d", "e"]])
    assert dictionary.symbols[:9] == ["<s>", "<pad>", "</s>", "<unk>", "a", "c", "b", "d", "e"]
    assert (dictionary.bos(), dictionary.pad(), dictionary.eos(), dictionary.unk()) == (0, 1, 2, 3)
    # 9 symbols are padded to 16 with zero-count filler symbols
    assert len(dictionary) == 16
    assert dictionary.symbols[9:] == [f"madeupword{i:04d}" for i in range(7)]
    expected = "a 3\nc 2\nb 1\nd 1\ne 1\n" + "".join(f"madeupword{i:04d} 0\n" for i in range(7))
    assert dictionary.text() == expected


def test_joined_capped_and_thresholded_dictionaries() -> None:
    joined = Dictionary.build([["x y y"], ["y z"]])  # --joined-dictionary: counts add up
    assert joined.symbols[4:7] == ["y", "x", "z"] and joined.counts[4:7] == [3, 1, 1]
    capped = Dictionary.build([["x y y z z z w"]], nwords=6)  # 4 specials + the 2 most frequent
    assert capped.symbols[4:] == ["z", "y", "madeupword0000", "madeupword0001"]
    kept = Dictionary.build([["x y y z z z w"]], threshold=2, padding_factor=1)
    assert kept.symbols[4:] == ["z", "y"]


def test_save_and_load_round_trip_and_checksum(tmp_path: Path) -> None:
    dictionary = Dictionary.build([["der die das der", "das das"]])
    path = tmp_path / "dict.de.txt"
    dictionary.save(path)
    loaded = Dictionary.load(path)
    assert loaded == dictionary and len(loaded) == 8
    assert loaded.index("das") == 4 and loaded.index("der") == 5 and loaded.index("nie") == 3
    assert dictionary.checksum() == hashlib.sha256(path.read_bytes()).hexdigest()


def test_load_reads_fairseq_files_and_names_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "dict.en.txt"
    path.write_text("the 10\n, 7\nhello world 2\n<unk> 1 #fairseq:overwrite\n", encoding="utf-8")
    loaded = Dictionary.load(path)
    assert loaded.index("the") == 4 and loaded.index(",") == 5 and loaded.index("hello world") == 6
    assert loaded.index("<unk>") == 7  # the overwrite flag re-adds a symbol at a new index
    path.write_text("the 10\nbroken\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"dict.en.txt:2: expected 'symbol count'"):
        Dictionary.load(path)
    path.write_text("the 10\nthe 3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate symbol 'the'"):
        Dictionary.load(path)


def test_encode_line_and_string() -> None:
    dictionary = Dictionary.build([["gar@@ ten ist gross", "ist"]])
    ids = dictionary.encode_line("  ist  gar@@ ten nie ")
    assert ids.dtype == np.int64
    assert ids.tolist() == [4, dictionary.index("gar@@"), dictionary.index("ten"), 3, 2]
    with_padding = np.concatenate(([1, 1, 0], ids))
    assert dictionary.string(with_padding) == "ist gar@@ ten <unk>"
    assert dictionary.string(with_padding, "@@ ") == "ist garten <unk>"
    assert dictionary.string(with_padding, "@@ ", escape_unk=True) == "ist garten <<unk>>"
    assert dictionary[10_000] == "<unk>"
