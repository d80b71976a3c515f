"""A binarized cache's arrays verified against the sha256 its manifest recorded when it was
built, at most once per version of each file: a stamp (each array's ``.bin``/``.idx`` sizes and
modification times beside the hash they gave) is kept beside the cache, or in the per-user cache
folder when the data directory cannot be written; a changed file is hashed again, never trusted.
A mismatch is ``DamagedCache``."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from data import DataError
from data.translation.binarized import TokenArray

STAMP = "verified.json"


class DamagedCache(DataError):
    """A cache file whose content is not what the cache recorded when it was built."""


def stamp_path(bin_dir: Path) -> Path:
    if os.access(bin_dir, os.W_OK):
        return bin_dir / STAMP
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(str(bin_dir.resolve()).encode()).hexdigest()[:16]
    return home / "optrepro" / "verified" / f"{key}.json"


def _version(array: TokenArray) -> list[list[int]]:
    return [[path.stat().st_size, path.stat().st_mtime_ns] for path in array.paths(array.prefix)]


def _read_stamps(path: Path) -> dict:
    try:
        stamps = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stamps if isinstance(stamps, dict) else {}


def record_verified(bin_dir: Path, arrays: Mapping[str, tuple[TokenArray, str]]) -> None:
    """Stamp ``arrays`` (name → the array and the sha256 it has) as verified."""
    path = stamp_path(bin_dir)
    stamps = _read_stamps(path)
    for name, (array, digest) in arrays.items():
        stamps[name] = {"version": _version(array), "sha256": digest}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{os.getpid()}")
        scratch.write_text(json.dumps(stamps, indent=1) + "\n", encoding="utf-8")
        os.replace(scratch, path)
    except OSError:
        pass  # not recorded: the next start verifies again


def verify_arrays(
    bin_dir: Path, arrays: Mapping[str, TokenArray], recorded: Mapping[str, str]
) -> dict[str, str]:
    """The sha256 of each array, verified against ``recorded`` (hashed again unless the stamp
    holds this version of its files with that hash); ``DamagedCache`` on a mismatch."""
    stamps = _read_stamps(stamp_path(bin_dir))
    verified: dict[str, str] = {}
    hashed: dict[str, tuple[TokenArray, str]] = {}
    for name, array in arrays.items():
        stamp = stamps.get(name)
        if stamp == {"version": _version(array), "sha256": recorded[name]}:
            verified[name] = recorded[name]
            continue
        digest = array.checksum()
        if digest != recorded[name]:
            raise DamagedCache(
                f"{array.prefix}.bin/.idx do not hold what the cache recorded (sha256 "
                f"{digest[:12]}, recorded {recorded[name][:12]})"
            )
        verified[name] = digest
        hashed[name] = (array, digest)
    if hashed:
        record_verified(bin_dir, hashed)
    return verified
