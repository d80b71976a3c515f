"""Binarized token ids on disk, memory-mapped: fairseq's ``mmap`` indexed-dataset format
(``fairseq/data/indexed_dataset.py``, ``MMapIndexedDataset``), so ``fairseq-preprocess`` output
reads here and these files read in fairseq.

``<prefix>.bin`` holds every sentence's ids back to back (uint16 when the dictionary has fewer
than 65,500 symbols, else int32, as fairseq-preprocess of 2019 chose). ``<prefix>.idx`` holds the
header ``MMIDIDX\\0\\0``, version 1 (uint64), a dtype code (uint8), the sentence count (uint64),
then the sentence lengths (int32, ``</s>`` included) and their byte offsets into ``.bin`` (int64).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from data.translation.dictionary import Dictionary

MAGIC = b"MMIDIDX\x00\x00"
DTYPE_CODES: dict[int, type] = {
    1: np.uint8,
    2: np.int8,
    3: np.int16,
    4: np.int32,
    5: np.int64,
    6: np.float64,
    8: np.uint16,
    9: np.uint32,
    10: np.uint64,
}
CHUNK_SENTENCES = 100_000


def token_dtype(vocabulary_size: int) -> type:
    """The id type fairseq-preprocess (2019) picks for a dictionary of this size."""
    return np.uint16 if vocabulary_size < 65500 else np.int32


def _code(dtype: type) -> int:
    return next(code for code, known in DTYPE_CODES.items() if known == dtype)


class TokenArray:
    """One language of one split: ``len``, ``array[i]`` (int64 ids ending in ``</s>``), and
    ``sizes`` (the lengths, ``</s>`` included). Reads map the files; nothing is loaded whole."""

    def __init__(self, prefix: Path | str) -> None:
        self.prefix = Path(prefix)
        index_path, data_path = self.paths(self.prefix)
        with index_path.open("rb") as stream:
            header = stream.read(len(MAGIC) + 8 + 1 + 8)
        if len(header) < 26 or header[: len(MAGIC)] != MAGIC:
            raise ValueError(f"{index_path} is not a fairseq mmap index (bad header)")
        (version,) = struct.unpack("<Q", header[9:17])
        if version != 1 or header[17] not in DTYPE_CODES:
            raise ValueError(f"{index_path}: unsupported version {version} or dtype {header[17]}")
        self.dtype = DTYPE_CODES[header[17]]
        (count,) = struct.unpack("<Q", header[18:26])
        index = np.memmap(index_path, mode="r", dtype=np.uint8)
        expected = 26 + count * (4 + 8)
        if index.size != expected:
            raise ValueError(f"{index_path} has {index.size} bytes, expected {expected}")
        self._sizes = np.frombuffer(index, dtype=np.int32, count=count, offset=26)
        self._pointers = np.frombuffer(index, dtype=np.int64, count=count, offset=26 + 4 * count)
        self.sizes = self._sizes.astype(np.int64)
        itemsize = np.dtype(self.dtype).itemsize
        needed = int(self.sizes.sum()) * itemsize
        if data_path.stat().st_size != needed:
            raise ValueError(f"{data_path} has {data_path.stat().st_size} bytes, expected {needed}")
        self._data = (
            np.memmap(data_path, mode="r", dtype=self.dtype)
            if needed
            else np.zeros(0, dtype=self.dtype)
        )
        self._starts = self._pointers // itemsize

    @staticmethod
    def paths(prefix: Path | str) -> tuple[Path, Path]:
        prefix = Path(prefix)
        return prefix.with_name(prefix.name + ".idx"), prefix.with_name(prefix.name + ".bin")

    @classmethod
    def exists(cls, prefix: Path | str) -> bool:
        return all(path.is_file() for path in cls.paths(prefix))

    def __len__(self) -> int:
        return len(self.sizes)

    def __getitem__(self, i: int) -> np.ndarray:
        start = int(self._starts[i])
        return np.asarray(self._data[start : start + int(self._sizes[i])], dtype=np.int64)

    @property
    def num_tokens(self) -> int:
        return int(self.sizes.sum())

    def max_id(self) -> int:
        """The largest id stored (-1 when empty): a dictionary must be larger than this."""
        return int(self._data.max()) if len(self._data) else -1

    def checksum(self) -> str:
        """sha256 of the ``.bin`` file followed by the ``.idx`` file."""
        digest = hashlib.sha256()
        for path in reversed(self.paths(self.prefix)):
            with path.open("rb") as stream:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(block)
        return digest.hexdigest()

    @classmethod
    def write(
        cls, prefix: Path | str, lines: Iterable[str], dictionary: Dictionary
    ) -> tuple[TokenArray, dict[str, int]]:
        """Binarize text lines through ``dictionary`` (unknown tokens become ``<unk>``, ``</s>``
        appended): the array and counts of sentences, tokens and ``<unk>`` replacements (what
        fairseq-preprocess reports)."""
        index_path, data_path = cls.paths(prefix)
        data_path.parent.mkdir(parents=True, exist_ok=True)
        dtype = token_dtype(len(dictionary))
        sizes: list[int] = []
        unknown = 0
        unk, lookup = dictionary.unk(), dictionary.indices
        with data_path.open("wb") as stream:
            chunk: list[int] = []
            for line in lines:
                ids = [lookup.get(token, unk) for token in line.split()]
                unknown += ids.count(unk)
                ids.append(dictionary.eos())
                sizes.append(len(ids))
                chunk.extend(ids)
                if len(sizes) % CHUNK_SENTENCES == 0:
                    stream.write(np.asarray(chunk, dtype=dtype).tobytes())
                    chunk = []
            stream.write(np.asarray(chunk, dtype=dtype).tobytes())
        lengths = np.asarray(sizes, dtype=np.int32)
        pointers = np.zeros(len(sizes), dtype=np.int64)
        if len(sizes):
            pointers[1:] = np.cumsum(lengths[:-1].astype(np.int64)) * np.dtype(dtype).itemsize
        with index_path.open("wb") as stream:
            stream.write(MAGIC)
            stream.write(struct.pack("<Q", 1))
            stream.write(struct.pack("<B", _code(dtype)))
            stream.write(struct.pack("<Q", len(sizes)))
            stream.write(lengths.tobytes())
            stream.write(pointers.tobytes())
        counts = {"sentences": len(sizes), "tokens": int(lengths.sum()), "unknown": unknown}
        return cls(prefix), counts
