"""One Billion Word's raw shards verified against the sha256 its cache recorded (issue 22, point
1): a shard changed at the same size rebuilds the cache with a line naming it, a manifest that is
not a JSON object is a damaged cache, a cache built before raw files were hashed is kept, and the
verification stamp spares an unchanged corpus its re-hash."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from data import DataError, verified_files
from data.lm1b.cache import cache_dir, load_or_build
from data.lm1b.files import find_corpus
from data.lm1b.raw_check import RAW
from data.sample_corpora import HELDOUT, RELEASE, TRAIN, write_release
from data.token_stream.vocabulary import file_sha256
from tests.data.lm.corpora import write_parquet

THRESHOLD = 3
SHARD = "news.en-00002-of-00100"


def build(data_dir: Path, logged: list[str] | None = None):
    sink = logged.append if logged is not None else (lambda line: None)
    return load_or_build(find_corpus(data_dir), data_dir, THRESHOLD, log=sink)


def reversed_lines(path: Path) -> None:
    """The shard's lines in the opposite order: other content, the same size."""
    size = path.stat().st_size
    path.write_text("".join(reversed(path.read_text().splitlines(keepends=True))))
    assert path.stat().st_size == size


def manifest_path(data_dir: Path) -> Path:
    return cache_dir(data_dir, "r13", THRESHOLD) / "manifest.json"


def test_the_manifest_records_every_raw_shard_hashed_in_the_build_read(tmp_path: Path) -> None:
    write_release(tmp_path)
    build(tmp_path)
    raw = json.loads(manifest_path(tmp_path).read_text())["raw"]
    root = tmp_path / RELEASE
    shards = sorted([*(root / TRAIN).iterdir(), *(root / HELDOUT).iterdir()])
    assert raw == {path.name: file_sha256(path) for path in shards}


def test_a_shard_overwritten_at_the_same_size_rebuilds_the_cache(tmp_path: Path) -> None:
    write_release(tmp_path)
    first = build(tmp_path)
    old_ids = first.train.tolist()
    shard = tmp_path / RELEASE / TRAIN / SHARD
    reversed_lines(shard)
    logged: list[str] = []
    rebuilt = build(tmp_path, logged)
    assert logged[0].startswith(f"lm1b: {shard} changed since the cache was built (sha256 ")
    assert "rebuilding the cache in" in logged[0]
    assert rebuilt.train.tolist() != old_ids
    assert (
        rebuilt.checksums["lm1b/train.ids(threshold=3)"]
        != (first.checksums["lm1b/train.ids(threshold=3)"])
    ), "the ids hash a checkpoint records changes with the data"
    again: list[str] = []
    assert build(tmp_path, again).checksums == rebuilt.checksums and again == []


def test_a_non_utf8_shard_at_the_same_size_is_refused_naming_the_byte(tmp_path: Path) -> None:
    write_release(tmp_path)
    build(tmp_path)
    shard = tmp_path / RELEASE / HELDOUT / "news.en.heldout-00001-of-00050"
    data = bytearray(shard.read_bytes())
    data[10] = 0xFF
    shard.write_bytes(bytes(data))
    logged: list[str] = []
    with pytest.raises(DataError, match=rf"{shard} is not UTF-8 text \(byte 10 cannot"):
        build(tmp_path, logged)
    assert logged[0].startswith(f"lm1b: {shard} changed since the cache was built")


@pytest.mark.parametrize("content", ["[1, 2]", "7"])
def test_a_manifest_that_is_not_an_object_is_a_damaged_cache(tmp_path: Path, content: str) -> None:
    write_release(tmp_path)
    first = build(tmp_path)
    manifest_path(tmp_path).write_text(content)
    logged: list[str] = []
    rebuilt = build(tmp_path, logged)
    assert logged[0].startswith(f"lm1b: {manifest_path(tmp_path)} is not a readable JSON object")
    assert "rebuilding the cache" in logged[0]
    assert rebuilt.checksums == first.checksums


def test_a_cache_built_before_raw_hashes_is_used_as_it_is(tmp_path: Path) -> None:
    write_release(tmp_path)
    first = build(tmp_path)
    manifest = json.loads(manifest_path(tmp_path).read_text())
    del manifest["raw"]  # as a cache built before this change
    manifest_path(tmp_path).write_text(json.dumps(manifest, indent=1))
    logged: list[str] = []
    kept = build(tmp_path, logged)
    assert logged == [], "an old cache is not rebuilt"
    assert kept.checksums == first.checksums
    assert "raw" not in json.loads(manifest_path(tmp_path).read_text())


def test_the_stamp_spares_an_unchanged_corpus_its_rehash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The raw files' stamp (each file's size and mtime) is trusted once they are larger than
    ``verified_files.SMALL_BYTES`` (lowered here to 0: the tiny corpus stands for the 4 GB one):
    content changed behind an unchanged mtime is not hashed again, the documented price of not
    reading 4 GB at every start; a new mtime is hashed again, found to match, and stamped. Small
    corpora are hashed at every start, which finds the same change."""
    write_release(tmp_path)
    first = build(tmp_path)
    shard = tmp_path / RELEASE / TRAIN / SHARD
    stamp = cache_dir(tmp_path, "r13", THRESHOLD) / verified_files.STAMP
    before = os.stat(shard)
    recorded = json.loads(stamp.read_text())[RAW]
    assert [before.st_size, before.st_mtime_ns] in recorded["version"]
    reversed_lines(shard)
    os.utime(shard, ns=(before.st_atime_ns, before.st_mtime_ns))
    monkeypatch.setattr(verified_files, "SMALL_BYTES", 0)
    logged: list[str] = []
    assert build(tmp_path, logged).checksums == first.checksums and logged == []
    monkeypatch.undo()
    build(tmp_path, logged)
    assert logged[0].startswith(f"lm1b: {shard} changed since the cache was built")
    monkeypatch.setattr(verified_files, "SMALL_BYTES", 0)
    rebuilt = build(tmp_path)
    reversed_lines(shard)  # the original content back, a new mtime: hashed, the other ids
    logged.clear()
    assert build(tmp_path, logged).checksums != rebuilt.checksums
    assert logged[0].startswith(f"lm1b: {shard} changed since the cache was built")
    os.utime(shard)  # a new mtime, the same content: hashed again, matches, stamped
    assert build(tmp_path, logged[:0]).checksums == first.checksums
    restamped = json.loads(stamp.read_text())[RAW]["version"]
    assert [shard.stat().st_size, shard.stat().st_mtime_ns] in restamped


def test_the_parquet_files_are_hashed_and_verified(tmp_path: Path) -> None:
    written = write_release(tmp_path / "r13")
    train = [line for shard in written["train"] for line in shard]
    heldout = [line for shard in written["heldout"] for line in shard]
    root = write_parquet(tmp_path, train, heldout)
    first = build(tmp_path)
    manifest = json.loads((cache_dir(tmp_path, "parquet", THRESHOLD) / "manifest.json").read_text())
    files = sorted(root.rglob("*.parquet"))
    assert manifest["raw"] == {str(p.relative_to(root)): file_sha256(p) for p in files}
    write_parquet(tmp_path, list(reversed(train)), heldout)  # rows moved, sizes may not change
    logged: list[str] = []
    changed = build(tmp_path, logged)
    assert "building" in logged[0] or "a raw shard changed" in logged[0]
    assert changed.train.tolist() != first.train.tolist()
