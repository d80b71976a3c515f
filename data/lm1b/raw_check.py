"""The raw One Billion Word files a cache was built from, verified against the sha256 each had
when the build read it (``Corpus.digests``, recorded as the manifest's ``raw``): at every open,
through ``data.verified_files`` (stamped, so that a 4 GB corpus whose files kept their size and
modification time is not read again), a shard changed since the build is named in a
``DamagedCache`` and the cache is rebuilt (issue 22, point 1)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from data.lm1b.files import Corpus
from data.token_stream.vocabulary import file_sha256
from data.verified_files import DamagedCache, verify

RAW = "raw files"
"""The name the raw files are verified (and stamped) under, as one set."""


def raw_digest(digests: dict[str, str]) -> str:
    """One sha256 over the raw files' sha256s (in name order): the raw files are verified as one
    set, so that ``data.verified_files`` stamps the 4 GB corpus as a whole; verified one by one,
    each ~40 MB shard would count as small and be hashed again at every start."""
    lines = "".join(f"{name}\t{digests[name]}\n" for name in sorted(digests))
    return hashlib.sha256(lines.encode()).hexdigest()


def verify_raw(path: Path, manifest: dict, corpus: Corpus) -> None:
    """The raw files present (and readable) checked against the sha256 the build recorded
    (``data.verified_files``: re-hashed only when a file's size or mtime changed, or always while
    they are small); ``DamagedCache`` naming the first shard that changed. A cache built before
    raw files were hashed has none to check."""
    recorded = manifest.get("raw")
    if not isinstance(recorded, dict):
        return
    present = {name: file for name, file in corpus.paths.items() if name in recorded}
    present = {  # absent or unreadable beside a whole cache: the cache alone trains
        name: file for name, file in present.items() if os.access(file, os.R_OK)
    }
    found: dict[str, str] = {}

    def digest_of(_: str) -> str:
        found.update({name: file_sha256(file) for name, file in present.items()})
        return raw_digest(found)

    expected = raw_digest({name: recorded[name] for name in present})
    try:
        verify(path, {RAW: sorted(present.values())}, {RAW: expected}, digest_of)
    except DamagedCache:
        name = next(name for name in sorted(present) if found[name] != recorded[name])
        raise DamagedCache(
            f"{present[name]} changed since the cache was built (sha256 {found[name][:12]}, "
            f"recorded {recorded[name][:12]})"
        ) from None
