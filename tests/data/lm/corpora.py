"""The hub's parquet copy of One Billion Word, written in its real layout for the tests (the r13
release folders and Mikolov's PTB files are written by ``data.sample_corpora``, which the fault
trial uses too)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def write_parquet(data_dir: Path, train: list[str], test: list[str], files: int = 2) -> Path:
    """The hub snapshot layout ``lm1b-parquet/plain_text/{train,test}/NNNN.parquet`` with a
    ``text`` column, the training rows spread over ``files`` files."""
    root = data_dir / "lm1b-parquet" / "plain_text"
    for split, rows, parts in (("train", train, files), ("test", test, 1)):
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        for part, chunk in enumerate(np.array_split(np.array(rows, dtype=object), parts)):
            table = pa.table({"text": pa.array(list(chunk), type=pa.string())})
            pq.write_table(table, folder / f"{part:04d}.parquet")
    return root.parent
