"""Lines of a UTF-8 text file, with a one-line ``DataError`` naming the file and the byte
offset when the file is not UTF-8 (a damaged download, a file in another encoding).

Read in text mode (fast); only after a decoding error is the file scanned again in binary,
chunk by chunk, to find the first offending byte."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

from data import DataError

CHUNK = 1 << 20


def utf8_lines(path: Path, newline: str | None = None) -> Iterator[str]:
    """The file's lines as Python's text iteration yields them (``newline`` as ``open``'s)."""
    try:
        with open(path, encoding="utf-8", newline=newline) as stream:
            yield from stream
    except UnicodeDecodeError:
        offset = first_undecodable_byte(path)
        raise DataError(
            f"{path} is not UTF-8 text (byte {offset} cannot be decoded): re-encode it as "
            "UTF-8 or fetch it again"
        ) from None


def first_undecodable_byte(path: Path) -> int | None:
    """The offset of the first byte a strict UTF-8 decoder refuses (None: none does)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    position = 0  # bytes read before the current chunk
    with open(path, "rb") as stream:
        while True:
            chunk = stream.read(CHUNK)
            pending = len(decoder.getstate()[0])  # an incomplete character the chunk continues
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                return position - pending + error.start
            if not chunk:
                return None
            position += len(chunk)
