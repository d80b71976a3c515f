"""UTF-8 text readers: a file that is not UTF-8 is one line naming the file and the first byte
that cannot be decoded (also where a character spans two of the scan's chunks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from data import DataError, text_lines
from data.text_lines import first_undecodable_byte, utf8_lines


@pytest.mark.parametrize("chunk", [1, 2, 3, 1 << 20])
@pytest.mark.parametrize(
    ("content", "offset"),
    [(b"a\xc3\xa9\xff", 3), (b"a\xc3\x41", 1), (b"ab\xe2\x82\x41", 2), (b"abc\xe2\x82", 3),
     ("h\u00e9llo\n".encode() * 3 + b"\xc3", 21), (b"fine\n", None)],
)  # fmt: skip
def test_the_first_undecodable_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, content: bytes, offset: int | None
) -> None:
    monkeypatch.setattr(text_lines, "CHUNK", chunk)
    (tmp_path / "f").write_bytes(content)
    assert first_undecodable_byte(tmp_path / "f") == offset


def test_a_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "ptb.train.txt"
    path.write_bytes(b" the cat\n sat \xe9 here\n")
    with pytest.raises(DataError) as raised:
        list(utf8_lines(path))
    assert str(raised.value).startswith(f"{path} is not UTF-8 text (byte 14 cannot be decoded)")
    assert "\n" not in str(raised.value)
