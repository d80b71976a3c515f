"""Lines in lists of at most ``size``: how the corpus preparations stream a text file through
a counting or tokenizing step without holding the file in memory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def line_chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
