"""One Billion Word on disk: the original r13 release folders or the hub's parquet copy, read as
sequences of shards of text lines (one tokenized sentence per line).

Sources and what their splits hold (sentence counts of the release: 30,301,028 training and
306,688 held-out sentences):

- ``r13``: ``<data_dir>/1-billion-word-language-modeling-benchmark-r13output/`` with
  ``training-monolingual.tokenized.shuffled/news.en-000NN-of-00100`` (99 training shards, NN =
  01..99) and ``heldout-monolingual.tokenized.shuffled/news.en.heldout-000NN-of-00050`` (50
  held-out shards, NN = 00..49). Every protocol is available: the RAdam code's test set (all 50
  held-out shards) and the benchmark's (``heldout-00000`` alone, validation ``heldout-00001``).
- ``parquet``: the hub's ``billion-word-benchmark/lm1b`` at revision ``refs/convert/parquet``,
  snapshot into ``<data_dir>/lm1b-parquet/`` (``<config>/train/*.parquet`` and
  ``<config>/test/*.parquet``, a ``text`` column). Its loading script put all 99 training shards
  in ``train`` and all 50 held-out shards in ``test`` (306,688 rows: the RAdam code's test set,
  not the benchmark's single shard, which cannot be picked out again). The training split has no
  shard boundaries, so it is cut into 99 contiguous pieces of equal sentence count, which play
  the shards' part (hidden-state resets, shuffled order).

Lines are split at ``\\n`` only; blank lines are skipped, as the reference skips them.

Every raw file's sha256 is taken as it is read (``Corpus.digests``), so that the cache records
what it was built from without another pass over the 4 GB of text: an r13 shard is hashed in the
same read that yields its lines; a parquet file is hashed by one sequential read just before
pyarrow reads it (pyarrow seeks to the footer first, so its own reads cannot be hashed in order;
the second read comes from the page cache).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from data import DataError, DataUnavailable
from data.token_stream.vocabulary import file_sha256

RELEASE = "1-billion-word-language-modeling-benchmark-r13output"
TRAIN_FOLDER = "training-monolingual.tokenized.shuffled"
HELDOUT_FOLDER = "heldout-monolingual.tokenized.shuffled"
TRAIN_GLOB = "news.en-*-of-00100"
HELDOUT_GLOB = "news.en.heldout-*-of-00050"
PARQUET_FOLDER = "lm1b-parquet"
HUB_REPO = "billion-word-benchmark/lm1b"
HUB_REVISION = "refs/convert/parquet"
RELEASE_SENTENCES = {"train": 30_301_028, "heldout": 306_688}
RELEASE_SHARDS = {"train": 99, "heldout": 50}
TRAIN_PIECES = RELEASE_SHARDS["train"]
DOWNLOAD_COMMAND = "python -m scripts.download_data lm1b --data-dir {data_dir}"
SOURCES = ("auto", "r13", "parquet")

LineReader = Callable[[], Iterator[str]]


@dataclass(frozen=True)
class Corpus:
    """The shards of one source: ``train`` and ``heldout`` are callables yielding
    ``(shard name, lines)`` in order; each shard's lines must be read before the next shard."""

    source: str
    root: Path
    train: Callable[[], Iterator[tuple[str, Iterator[str]]]]
    heldout: Callable[[], Iterator[tuple[str, Iterator[str]]]]
    train_shards: int
    identity: tuple[tuple[str, int], ...]
    """(file name, size in bytes) of every file read: the source's fingerprint."""
    paths: dict[str, Path] = field(default_factory=dict)
    """Each file of ``identity`` by its name there."""
    digests: dict[str, str] = field(default_factory=dict)
    """The sha256 of each file read so far (by its ``identity`` name), filled as shards are read
    through: the last read's wins."""

    def fingerprint(self) -> str:
        text = "\n".join(f"{name}\t{size}" for name, size in self.identity)
        return hashlib.sha256(f"{self.source}\n{text}".encode()).hexdigest()


def release_root(data_dir: str | Path) -> Path:
    return Path(data_dir) / RELEASE


def parquet_root(data_dir: str | Path) -> Path:
    return Path(data_dir) / PARQUET_FOLDER


def missing(data_dir: str | Path) -> DataUnavailable:
    command = DOWNLOAD_COMMAND.format(data_dir=data_dir)
    return DataUnavailable(
        f"One Billion Word not found: expected {release_root(data_dir) / TRAIN_FOLDER} (the r13 "
        f"release) or {parquet_root(data_dir)} (the hub's parquet copy); run `{command}`"
    )


def chosen_folder(data_dir: str | Path, source: str = "auto") -> Path:
    """The folder ``source`` reads (``auto``: the r13 folders when present, else the parquet
    copy); ``DataUnavailable`` naming the expected paths when it is missing. Nothing is listed."""
    if source not in SOURCES:
        raise ValueError(f"source {source!r}: one of {', '.join(SOURCES)}")
    release, parquet = release_root(data_dir), parquet_root(data_dir)
    if source == "r13" or (source == "auto" and release.is_dir()):
        if not release.is_dir():
            raise missing(data_dir)
        return release
    if parquet.is_dir():
        return parquet
    raise missing(data_dir)


def find_corpus(data_dir: str | Path, source: str = "auto") -> Corpus:
    """The corpus of ``source`` (see ``chosen_folder``); ``DataUnavailable`` naming the expected
    path when it is missing or holds no files."""
    folder = chosen_folder(data_dir, source)
    if folder == release_root(data_dir):
        return _release_corpus(folder)
    return _parquet_corpus(folder)


def _files(folder: Path, pattern: str) -> list[Path]:
    if not folder.is_dir():
        raise DataUnavailable(
            f"One Billion Word folder {folder} is missing (the r13 release layout)"
        )
    found = sorted(path for path in folder.glob(pattern) if path.is_file())
    if not found:
        raise DataUnavailable(f"One Billion Word folder {folder} has no {pattern} files")
    return found


def _hashed_lines(path: Path, digests: dict[str, str]) -> Iterator[str]:
    """The shard's lines split at ``\\n`` (``open(newline="\\n")``'s lines), its sha256 taken
    from the same bytes and stored in ``digests`` once the last line is read; a one-line
    ``DataError`` naming the file and the byte offset where it is not UTF-8 (as
    ``data.text_lines.utf8_lines``)."""
    digest, offset = hashlib.sha256(), 0
    with open(path, "rb") as stream:
        for raw in stream:
            digest.update(raw)
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise DataError(
                    f"{path} is not UTF-8 text (byte {offset + error.start} cannot be decoded): "
                    "re-encode it as UTF-8 or fetch it again"
                ) from None
            offset += len(raw)
    digests[path.name] = digest.hexdigest()


def _release_corpus(root: Path) -> Corpus:
    train = _files(root / TRAIN_FOLDER, TRAIN_GLOB)
    heldout = _files(root / HELDOUT_FOLDER, HELDOUT_GLOB)
    digests: dict[str, str] = {}

    def shards(paths: list[Path]) -> Callable[[], Iterator[tuple[str, Iterator[str]]]]:
        return lambda: ((path.name, _hashed_lines(path, digests)) for path in paths)

    identity = tuple((p.name, p.stat().st_size) for p in (*train, *heldout))
    paths = {p.name: p for p in (*train, *heldout)}
    return Corpus("r13", root, shards(train), shards(heldout), len(train), identity, paths, digests)


def parquet_files(root: Path, split: str) -> list[Path]:
    """The hub snapshot's parquet files of ``split`` (``train`` or ``test``), in name order."""
    found = sorted(p for p in root.glob(f"*/{split}/*.parquet") if p.is_file())
    found += sorted(p for p in root.glob(f"*/partial-{split}/*.parquet") if p.is_file())
    return found


def parquet_rows(paths: list[Path]) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(path).metadata.num_rows for path in paths)


def _parquet_lines(paths: list[Path], root: Path, digests: dict[str, str]) -> Iterator[str]:
    """The ``text`` column of each file in turn, each file hashed into ``digests`` (by its path
    under ``root``) as it is reached (module docstring)."""
    import pyarrow.parquet as pq

    for path in paths:
        digests[str(path.relative_to(root))] = file_sha256(path)
        for batch in pq.ParquetFile(path).iter_batches(batch_size=65_536, columns=["text"]):
            yield from batch.column(0).to_pylist()


def _parquet_corpus(root: Path) -> Corpus:
    train, test = parquet_files(root, "train"), parquet_files(root, "test")
    for split, paths in (("train", train), ("test", test)):
        if not paths:
            raise DataUnavailable(
                f"One Billion Word parquet folder {root} has no */{split}/*.parquet files"
            )
    rows = parquet_rows(train)
    digests: dict[str, str] = {}

    def pieces() -> Iterator[tuple[str, Iterator[str]]]:
        lines = _parquet_lines(train, root, digests)
        for piece in range(TRAIN_PIECES):
            size = (piece + 1) * rows // TRAIN_PIECES - piece * rows // TRAIN_PIECES
            yield f"train-piece-{piece:02d}-of-{TRAIN_PIECES}", itertools.islice(lines, size)

    def heldout() -> Iterator[tuple[str, Iterator[str]]]:
        yield "test", _parquet_lines(test, root, digests)

    identity = tuple((str(p.relative_to(root)), p.stat().st_size) for p in (*train, *test))
    paths = {str(p.relative_to(root)): p for p in (*train, *test)}
    return Corpus("parquet", root, pieces, heldout, TRAIN_PIECES, identity, paths, digests)
