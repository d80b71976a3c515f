"""Token ids on disk: a flat file of little-endian int32, appended chunk by chunk while a corpus is
encoded and read back through a read-only memory map, so a 0.8-billion-token corpus never sits
in memory (neither as Python strings nor as one array)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import TracebackType

import numpy as np

ID_DTYPE = np.dtype("<i4")


class IdFileWriter:
    """Appends int32 ids to ``path``, counts them and hashes them as they are written
    (``sha256``: the file's, without reading it back)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._digest = hashlib.sha256()
        self._stream = open(path, "wb")  # noqa: SIM115 - closed in close()/__exit__

    def append(self, ids: np.ndarray) -> None:
        data = np.ascontiguousarray(ids, dtype=ID_DTYPE).tobytes()
        self._stream.write(data)
        self._digest.update(data)
        self.count += len(ids)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> IdFileWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def open_ids(path: Path, count: int) -> np.ndarray:
    """The ``count`` ids of ``path`` as a read-only memory map (an empty array for 0 ids:
    numpy cannot map an empty file)."""
    if count == 0:
        return np.zeros(0, dtype=ID_DTYPE)
    size = path.stat().st_size
    if size != count * ID_DTYPE.itemsize:
        raise ValueError(f"{path} holds {size} bytes, expected {count} int32 ids")
    return np.memmap(path, dtype=ID_DTYPE, mode="r", shape=(count,))
