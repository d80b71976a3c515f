"""Cache files verified against the sha256 recorded when the cache was built: small ones
(``SMALL_BYTES``) at every start, large ones at most once per version of each file: a stamp (each
file's size and modification time beside the hash they gave) is kept beside the cache, or in the
per-user cache folder when the data directory cannot be written; a changed file is hashed again,
never trusted. A mismatch is ``DamagedCache``. Hashing every start costs ≈ 0.1 s per 64 MiB, so a
byte damaged in place with its modification time kept is found in every cache of that size (PTB,
IWSLT'14); a large cache (One Billion Word's 3 GB of ids, WMT'16) relies on its stamp."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from data import DataError

STAMP = "verified.json"
SMALL_BYTES = 64 << 20
"""Files of a recorded hash up to this size together are hashed at every start (no stamp)."""

Files = Sequence[Path]
"""The files one recorded hash covers (e.g. an array's ``.bin`` and ``.idx``)."""


class DamagedCache(DataError):
    """A cache file whose content is not what the cache recorded when it was built."""


def stamp_path(cache: Path) -> Path:
    if os.access(cache, os.W_OK):
        return cache / STAMP
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(str(cache.resolve()).encode()).hexdigest()[:16]
    return home / "optrepro" / "verified" / f"{key}.json"


def _version(files: Files) -> list[list[int]]:
    stats = [path.stat() for path in files]
    return [[stat.st_size, stat.st_mtime_ns] for stat in stats]


def _read_stamps(path: Path) -> dict:
    try:
        stamps = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stamps if isinstance(stamps, dict) else {}


def record_verified(cache: Path, hashed: Mapping[str, tuple[Files, str]]) -> None:
    """Stamp each name's files (with the sha256 they have) as verified."""
    path = stamp_path(cache)
    stamps = _read_stamps(path)
    for name, (files, digest) in hashed.items():
        stamps[name] = {"version": _version(files), "sha256": digest}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{os.getpid()}")
        scratch.write_text(json.dumps(stamps, indent=1) + "\n", encoding="utf-8")
        os.replace(scratch, path)
    except OSError:
        pass  # not recorded: the next start verifies again


def verify(
    cache: Path,
    files: Mapping[str, Files],
    recorded: Mapping[str, str],
    digest_of: Callable[[str], str],
) -> dict[str, str]:
    """The sha256 of each name's files, verified against ``recorded`` (``digest_of(name)``
    hashes them again unless the stamp holds this version of them with that hash);
    ``DamagedCache`` naming the files on a mismatch."""
    stamps = _read_stamps(stamp_path(cache))
    verified: dict[str, str] = {}
    hashed: dict[str, tuple[Files, str]] = {}
    for name, paths in files.items():
        version = _version(paths)
        small = sum(size for size, _ in version) <= SMALL_BYTES
        if not small and stamps.get(name) == {"version": version, "sha256": recorded[name]}:
            verified[name] = recorded[name]
            continue
        digest = digest_of(name)
        if digest != recorded[name]:
            shown = " and ".join(str(path) for path in paths)
            raise DamagedCache(
                f"{shown} do{'es' if len(paths) == 1 else ''} not hold what the cache recorded "
                f"(sha256 {digest[:12]}, recorded {recorded[name][:12]})"
            )
        verified[name] = digest
        hashed[name] = (paths, digest)
    if hashed:
        record_verified(cache, hashed)
    return verified
