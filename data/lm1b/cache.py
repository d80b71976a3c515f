"""The One Billion Word vocabulary and token ids, built once per source and threshold and cached.

``<data_dir>/lm1b-cache/<source>-threshold<k>/`` holds ``vocab.json`` (``Vocabulary``),
``train.ids`` and ``heldout.ids`` (int32, read through a memory map: ``data.token_stream``) and
``manifest.json``: the source's fingerprint (file names and sizes), the threshold, the SHA-256 of
``vocab.json``, and every shard's offset, token and sentence count. Building reads the training
shards twice (count, then encode; a progress bar on a terminal) and the held-out shards once,
never holding more than one chunk of lines as strings; the id files are hashed as they are
written. A cache whose manifest does not match the corpus or the threshold is built again; one
whose ``vocab.json`` does not match its recorded checksum, whose id files have the wrong size,
or whose ids do not hash to what was recorded (checked once per version of each file:
``data.verified_files``) is rebuilt with a line saying so, as is one whose ``manifest.json`` is
not a JSON object. The manifest also holds each raw file's sha256 (``raw``, taken in the
build's own read: ``Corpus.digests``); every open verifies the raw files against it the same way
(re-hashed only when a file's size or modification time changed), and a raw shard that changed
at the same size rebuilds the cache with a line naming it. Caches built before raw files were
hashed are used as they are; the raw hashes are not among the ``checksums`` a run records, so a
checkpoint of an unchanged corpus resumes. The manifest's sentence counts are
compared with the r13 release's by ``release_differences`` (the task refuses a corpus that
differs unless ``task.accept_corpus``: ``data.release_check``); a corpus that differs still gets
a whole cache, so accepting it afterwards builds nothing again. A file lock
makes concurrent runs of a sweep build it once: a reader takes it shared through a read-only
descriptor (a complete cache reads from a read-only directory; without a lock file there, and
no way to write one, it reads unlocked), a build takes it exclusive.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from data import DataError
from data.line_chunks import line_chunks
from data.lm1b.files import RELEASE_SENTENCES, Corpus
from data.lm1b.raw_check import RAW, raw_digest, verify_raw
from data.release_check import count_difference
from data.token_stream.id_files import IdFileWriter, open_ids
from data.token_stream.vocabulary import NEWLINE_EOS, Vocabulary, count_words, file_sha256
from data.verified_files import DamagedCache, record_verified, verify

CACHE_FOLDER = "lm1b-cache"
FORMAT = 1
CHUNK_LINES = 50_000
MIN_VOCABULARY = 3
"""<unk>, the end-of-sentence token and at least one word."""


@dataclass(frozen=True)
class ShardSpan:
    name: str
    offset: int
    length: int
    """Tokens (words and end-of-sentence tokens) of the shard."""
    sentences: int


@dataclass(frozen=True)
class TokenCorpus:
    """The encoded corpus: ``train`` and ``heldout`` are memory-mapped int32 id arrays, each the
    concatenation of its shards (``*_shards`` give their spans)."""

    vocabulary: Vocabulary
    train: np.ndarray
    train_shards: tuple[ShardSpan, ...]
    heldout: np.ndarray
    heldout_shards: tuple[ShardSpan, ...]
    source: str
    path: Path
    checksums: dict[str, str]
    sentences: dict[str, int]
    """``train`` and ``heldout``: the sentences the manifest counted when the ids were written."""


def cache_dir(data_dir: str | Path, source: str, threshold: int) -> Path:
    return Path(data_dir) / CACHE_FOLDER / f"{source}-threshold{threshold}"


@contextmanager
def _locked(path: Path, shared: bool = False) -> Iterator[None]:
    """The cache's lock: shared through a read-only descriptor for a reader (no lock at all
    where the lock file is absent and cannot be created), exclusive for a build."""
    lock_path = path.with_name(path.name + ".lock")
    if shared and not lock_path.exists() and not os.access(path.parent, os.W_OK):
        yield
        return
    if not shared:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DataError(_unwritable(path, error)) from None
    try:
        lock = open(lock_path, "r" if shared and lock_path.exists() else "a")
    except OSError as error:
        raise DataError(_unwritable(path, error)) from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _unwritable(path: Path, error: OSError) -> str:
    return (
        f"the One Billion Word cache {path} must be built but {path.parent} cannot be written "
        f"({error.strerror}): give a writable data_dir=, or build it once where it can be"
    )


def _fresh(path: Path, corpus: Corpus, threshold: int) -> tuple[dict | None, bool]:
    """The manifest (None when absent, unreadable or not a JSON object), and whether it belongs
    to this corpus and threshold."""
    manifest = _read_manifest(path)
    fresh = (
        manifest is not None
        and manifest.get("format") == FORMAT
        and manifest.get("fingerprint") == corpus.fingerprint()
        and manifest.get("threshold") == threshold
    )
    return manifest, fresh


def _opened(path: Path, manifest: dict, corpus: Corpus) -> TokenCorpus:
    """The cache, once its raw files and members are verified; ``DamagedCache`` saying what
    does not match."""
    try:
        problem = _integrity_problem(path, manifest)
        if problem is None:
            verify_raw(path, manifest, corpus)
            return _open(path, manifest)
    except (KeyError, TypeError):
        problem = f"{path / 'manifest.json'} lacks what a cache manifest holds"
    raise DamagedCache(problem)


def load_or_build(
    corpus: Corpus,
    data_dir: str | Path,
    threshold: int,
    *,
    log: Callable[[str], None] = lambda line: print(line, flush=True),
) -> TokenCorpus:
    """The cached ids of ``corpus`` at ``threshold``, building (or rebuilding) them first when
    needed (module docstring)."""
    path = cache_dir(data_dir, corpus.source, threshold)
    if path.is_dir():
        with _locked(path, shared=True):
            manifest, fresh = _fresh(path, corpus, threshold)
            if fresh:
                try:
                    return _opened(path, manifest, corpus)
                except DamagedCache:
                    pass  # rebuilt below, under the exclusive lock, with a line saying why
    with _locked(path):
        manifest, fresh = _fresh(path, corpus, threshold)
        if fresh:
            try:
                return _opened(path, manifest, corpus)
            except DamagedCache as damaged:
                log(f"lm1b: {damaged}: rebuilding the cache in {path}")
        elif manifest is None and (path / "manifest.json").exists():
            log(f"lm1b: {path / 'manifest.json'} is not a readable JSON object (a damaged cache): "
                f"rebuilding the cache in {path}")  # fmt: skip
        else:
            log(f"lm1b: building the vocabulary and token-id cache in {path} (once per source)")
        try:
            _build(corpus, path, threshold)
        except DataError:  # undecodable text: already one line; no partial cache left
            shutil.rmtree(path.with_name(path.name + ".partial"), ignore_errors=True)
            raise
        except OSError as error:  # unreadable shard, full disk: one line, no partial cache left
            shutil.rmtree(path.with_name(path.name + ".partial"), ignore_errors=True)
            raise DataError(
                f"building the One Billion Word cache in {path} failed: {error.strerror} "
                f"({error.filename}); the partial build was removed, and the same command "
                "builds it once that is fixed"
            ) from None
        return _open(path, _read_manifest(path))


def _read_manifest(path: Path) -> dict | None:
    try:
        manifest = json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _integrity_problem(path: Path, manifest: dict) -> str | None:
    vocab = path / "vocab.json"
    if not vocab.is_file() or file_sha256(vocab) != manifest["vocabulary"]["sha256"]:
        return f"the vocabulary cache {vocab} does not match its checksum"
    for split in ("train", "heldout"):
        ids = path / f"{split}.ids"
        expected = manifest[split]["tokens"] * 4
        if not ids.is_file() or ids.stat().st_size != expected:
            return f"the token-id cache {ids} does not match its size in the manifest"
    return None


def _verified_ids(path: Path, manifest: dict) -> dict[str, str]:
    """The id files' sha256, verified against the manifest (once per version of each file);
    ``DamagedCache`` on a mismatch. Caches built before ids were hashed are taken as they are."""
    names = [split for split in ("train", "heldout") if "sha256" in manifest[split]]
    files = {f"{split}.ids": [path / f"{split}.ids"] for split in names}
    recorded = {f"{split}.ids": manifest[split]["sha256"] for split in names}
    return verify(path, files, recorded, lambda name: file_sha256(path / name))


def _open(path: Path, manifest: dict) -> TokenCorpus:
    ids = _verified_ids(path, manifest)
    spans = {
        split: tuple(ShardSpan(**shard) for shard in manifest[split]["shards"])
        for split in ("train", "heldout")
    }
    return TokenCorpus(
        vocabulary=Vocabulary.load(path / "vocab.json"),
        train=open_ids(path / "train.ids", manifest["train"]["tokens"]),
        train_shards=spans["train"],
        heldout=open_ids(path / "heldout.ids", manifest["heldout"]["tokens"]),
        heldout_shards=spans["heldout"],
        source=manifest["source"],
        path=path,
        checksums={
            f"lm1b/{manifest['source']}": manifest["fingerprint"],
            f"lm1b/vocab.json(threshold={manifest['threshold']})": manifest["vocabulary"]["sha256"],
            **{f"lm1b/{name}(threshold={manifest['threshold']})": sha for name, sha in ids.items()},
        },
        sentences={split: manifest[split]["sentences"] for split in ("train", "heldout")},
    )


def release_differences(corpus: TokenCorpus) -> list[str]:
    """What differs from the r13 release's sentence counts (``RELEASE_SENTENCES``), one phrase
    per split; empty when both match."""
    found = (
        count_difference(split, "sentences", corpus.sentences[split], RELEASE_SENTENCES[split])
        for split in ("train", "heldout")
    )
    return [difference for difference in found if difference]


def _progress(shards: Iterator, total: int, what: str) -> Iterator:
    return tqdm(shards, total=total, desc=f"lm1b: {what}", unit="shard", disable=None)


def _build(corpus: Corpus, path: Path, threshold: int) -> None:
    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    counts: Counter = Counter({NEWLINE_EOS: 0})
    for _, lines in _progress(corpus.train(), corpus.train_shards, "counting words"):
        count_words(lines, counts, NEWLINE_EOS)
    vocabulary = Vocabulary.from_counts(counts, threshold, NEWLINE_EOS)
    del counts
    if len(vocabulary) < MIN_VOCABULARY or NEWLINE_EOS not in vocabulary.index:
        raise DataError(
            f"task.threshold={threshold} leaves a {len(vocabulary)}-symbol vocabulary (<unk> and "
            f"the training words seen more than {threshold:,} times, the end-of-sentence token "
            f"among them); at least {MIN_VOCABULARY} are needed: lower the threshold"
        )
    sha256 = vocabulary.save(partial / "vocab.json")
    manifest: dict = {
        "format": FORMAT,
        "source": corpus.source,
        "fingerprint": corpus.fingerprint(),
        "threshold": threshold,
        "vocabulary": {"sha256": sha256, "size": len(vocabulary)},
    }
    corpus.digests.clear()  # filled again by this build's reads, the encoding's last
    for split, shards, total in (
        ("train", corpus.train, corpus.train_shards),
        ("heldout", corpus.heldout, None),
    ):
        spans = []
        with IdFileWriter(partial / f"{split}.ids") as writer:
            for name, lines in _progress(shards(), total, f"encoding {split}"):
                offset, sentences = writer.count, 0
                for chunk in line_chunks(lines, CHUNK_LINES):
                    ids = vocabulary.encode_lines(chunk, skip_empty=True)
                    sentences += int(np.count_nonzero(ids == vocabulary.eos_id))
                    writer.append(ids)
                spans.append(
                    {"name": name, "offset": offset, "length": writer.count - offset,
                     "sentences": sentences}
                )  # fmt: skip
        sentences = sum(span["sentences"] for span in spans)
        manifest[split] = {"tokens": writer.count, "sentences": sentences, "shards": spans,
                           "sha256": writer.sha256}  # fmt: skip
    manifest["raw"] = dict(corpus.digests)
    (partial / "manifest.json").write_text(json.dumps(manifest, indent=1))
    hashed = {f"{split}.ids": ([partial / f"{split}.ids"], manifest[split]["sha256"])
              for split in ("train", "heldout")}  # fmt: skip
    raw = sorted(corpus.paths[name] for name in corpus.digests)
    hashed[RAW] = (raw, raw_digest(corpus.digests))
    record_verified(partial, hashed)  # hashed while written: the first start reads no id twice
    shutil.rmtree(path, ignore_errors=True)
    os.replace(partial, path)
