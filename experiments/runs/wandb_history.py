"""What a W&B run already holds, read from W&B's own records, and what the local store holds.

The mirror logs event ``i`` of ``metrics.jsonl`` (its ``i``-th line, from 0) as W&B's history
row ``_step = i``. The rows a W&B run holds are then ``0 … held_rows - 1``, and
``held_rows`` is read from the transaction logs ``wandb`` writes in every mode
(``<run_dir>/wandb/*run-<time>-<id>/run-<id>.wandb``, the files ``wandb sync`` uploads). Their
format is LevelDB's log, as W&B writes it: a 7-byte header (``:W&B``, the magic ``0xBEE1``
little-endian, version 0), then 32 KiB blocks of chunks, each with a 7-byte header (CRC-32 of
type and payload, length, type: full, first, middle or last piece of a record); a record is a
``wandb_internal_pb2.Record``. ``wandb`` writes whole blocks only: a killed process leaves
the rows of its last, unwritten block out, and a torn chunk ends the reading.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BLOCK = 32768
CHUNK_HEADER = struct.Struct("<IHB")  # CRC-32, length, type
FILE_HEADER = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def transaction_logs(wandb_dir: Path, run_id: str) -> list[Path]:
    """Every transaction log of the W&B run ``run_id`` under ``wandb_dir`` (one per launch)."""
    return sorted(wandb_dir.glob(f"*run-*-{run_id}/run-{run_id}.wandb"))


def _chunks(data: bytes) -> Iterator[tuple[int, bytes]]:
    """The intact chunks of a transaction log, in order, as (type, payload)."""
    position = len(FILE_HEADER)
    while position + CHUNK_HEADER.size <= len(data):
        left_in_block = BLOCK - position % BLOCK
        if left_in_block < CHUNK_HEADER.size:  # a block's zero padding
            position += left_in_block
            continue
        crc, length, kind = CHUNK_HEADER.unpack_from(data, position)
        start = position + CHUNK_HEADER.size
        payload = data[start : start + length]
        if len(payload) < length or zlib.crc32(bytes([kind]) + payload) != crc:
            return
        yield kind, payload
        position = start + length


def records(path: Path) -> Iterator[bytes]:
    """The serialized records of one transaction log (none when it is not one)."""
    data = path.read_bytes()
    if not data.startswith(FILE_HEADER):
        return
    pieces: list[bytes] = []
    for kind, payload in _chunks(data):
        if kind in (FULL, FIRST):
            pieces = [payload]
        elif kind in (MIDDLE, LAST) and pieces:
            pieces.append(payload)
        if kind in (FULL, LAST) and pieces:
            yield b"".join(pieces)
            pieces = []


def held_rows(wandb_dir: Path, run_id: str) -> int:
    """How many history rows the W&B run ``run_id`` holds locally: the last ``_step`` + 1 over
    all its transaction logs (0 when there are none)."""
    from wandb.proto import wandb_internal_pb2

    held = 0
    for path in transaction_logs(wandb_dir, run_id):
        for data in records(path):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(data)
            if record.WhichOneof("record_type") == "history":
                held = max(held, record.history.step.num + 1)
    return held


def count_events(metrics: Path) -> int:
    """The number of events (lines) in ``metrics.jsonl``."""
    if not metrics.is_file():
        return 0
    with open(metrics, "rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))


def events_from(metrics: Path, start: int) -> Iterator[dict[str, Any]]:
    """The events of ``metrics.jsonl`` from index ``start`` on, read as they are needed."""
    if not metrics.is_file():
        return
    with open(metrics, "rb") as handle:
        for index, line in enumerate(handle):
            if index >= start:
                yield json.loads(line)
