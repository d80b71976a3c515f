"""The ways the trial damages a file or a data directory, each what a disk, a copy or a user does
to real files: bytes overwritten in place (the size kept, so a size check cannot see it),
truncated, deleted, unreadable (mode 000: only a non-root user is refused, so the trial runs as
nobody), undecodable bytes in a text file, a JSON manifest holding a list, an evaluation split
emptied, and a data directory made read-only before its cache was built."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path

TEXT_LETTERS = b"abcdefghij "
BINARY_SUFFIXES = (".ids", ".bin", ".idx")


def overwrite(path: Path) -> None:
    """A quarter of the file, from a third of the way in, replaced by other bytes of the same
    count, as a program writing in place does it (the modification time changes): random bytes
    in a binary file, letters in a text file (so it still decodes)."""
    data = bytearray(path.read_bytes())
    rng = random.Random(len(data))
    start, count = len(data) // 3, max(1, len(data) // 4)
    binary = path.name.endswith(BINARY_SUFFIXES)
    for index in range(start, min(len(data), start + count)):
        data[index] = rng.randrange(256) if binary else rng.choice(TEXT_LETTERS)
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    with open(path, "r+b") as file:
        file.truncate(path.stat().st_size // 2)


def delete(path: Path) -> None:
    path.unlink()


def unreadable(path: Path) -> None:
    path.chmod(0)


def non_utf8(path: Path) -> None:
    """Two bytes that are not UTF-8 (``\\xff\\xfe``) in the middle of the file, the size kept."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 2] = b"\xff\xfe"
    path.write_bytes(bytes(data))


def json_list(path: Path) -> None:
    path.write_text("[]\n", encoding="utf-8")


def empty(path: Path) -> None:
    path.write_bytes(b"")


FILE_DAMAGE: dict[str, Callable[[Path], None]] = {
    "overwritten": overwrite,
    "truncated": truncate,
    "deleted": delete,
    "unreadable": unreadable,
    "non-utf8": non_utf8,
    "list": json_list,
    "emptied": empty,
}


def read_only_without_cache(data_dir: Path, cache_folder: str | None) -> None:
    """Remove the cache (and its lock file), then make every folder and file read-only."""
    if cache_folder is not None:
        cache = data_dir / cache_folder
        shutil.rmtree(cache, ignore_errors=True)
        cache.with_name(cache.name + ".lock").unlink(missing_ok=True)
    for folder, _, files in os.walk(data_dir):
        for name in files:
            os.chmod(os.path.join(folder, name), 0o444)
        os.chmod(folder, 0o555)
