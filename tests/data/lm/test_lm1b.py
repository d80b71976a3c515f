"""One Billion Word: the real readers on tiny corpora in both on-disk formats (the r13 folders
and a hub-style parquet snapshot), the cache (memory-mapped ids, checksummed vocabulary, rebuilt
when it does not match), the two evaluation protocols, and the missing-data messages."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from data import DataError, DataUnavailable
from data import download as download_command
from data.lm1b.cache import cache_dir, load_or_build, release_differences
from data.lm1b.files import find_corpus
from data.lm1b.protocols import evaluation_spans
from data.sample_corpora import RELEASE, TRAIN, write_release
from data.token_stream.vocabulary import file_sha256
from tests.data.as_nobody import needs_root, run_as_nobody
from tests.data.lm.corpora import write_parquet

THRESHOLD = 3


def encode_independently(shards: list[list[str]], vocab: dict[str, int]) -> list[int]:
    """encode_data2folder.py: each non-blank line's words (unknown → <unk>) and then '\\n'."""
    ids: list[int] = []
    for lines in shards:
        for line in lines:
            if line.strip():
                ids += [vocab.get(w, vocab["<unk>"]) for w in line.split()] + [vocab["\n"]]
    return ids


@pytest.fixture
def release(tmp_path: Path) -> tuple[Path, dict]:
    return tmp_path, write_release(tmp_path)


def test_the_r13_cache_holds_the_reference_encoding(release: tuple[Path, dict]) -> None:
    data_dir, written = release
    lines: list[str] = []
    logged: list[str] = []
    corpus = load_or_build(find_corpus(data_dir), data_dir, THRESHOLD, log=logged.append)
    assert "building" in logged[0] and corpus.source == "r13"
    for shard in written["train"]:
        lines += shard
    counts = Counter(" ".join(lines).split())
    index = corpus.vocabulary.index
    assert all((w in index) == (c > THRESHOLD) for w, c in counts.items())
    assert isinstance(corpus.train, np.memmap) and isinstance(corpus.heldout, np.memmap)
    assert corpus.train.tolist() == encode_independently(written["train"], index)
    assert corpus.heldout.tolist() == encode_independently(written["heldout"], index)
    spans = corpus.train_shards
    assert [s.name for s in spans] == [f"news.en-{i:05d}-of-00100" for i in (1, 2, 3)]
    assert [s.sentences for s in spans] == [len(shard) for shard in written["train"]]
    assert spans[1].offset == spans[0].length and sum(s.length for s in spans) == len(corpus.train)
    assert len(logged) == 1  # the task, not the cache, settles a corpus that is not r13
    assert release_differences(corpus)[0] == "train: 360 sentences (the release: 30,301,028)"
    assert set(corpus.checksums) == {
        "lm1b/r13", "lm1b/vocab.json(threshold=3)", "lm1b/train.ids(threshold=3)",
        "lm1b/heldout.ids(threshold=3)",
    }  # fmt: skip
    for split in ("train", "heldout"):  # hashed while written, equal to the file's hash
        ids = cache_dir(data_dir, "r13", THRESHOLD) / f"{split}.ids"
        assert corpus.checksums[f"lm1b/{split}.ids(threshold=3)"] == file_sha256(ids)
    again: list[str] = []
    load_or_build(find_corpus(data_dir), data_dir, THRESHOLD, log=again.append)
    assert again == [], "a valid cache is read, not rebuilt"


def test_a_cache_that_does_not_match_its_checksum_is_rebuilt(release: tuple[Path, dict]) -> None:
    data_dir, _ = release
    first = load_or_build(find_corpus(data_dir), data_dir, THRESHOLD, log=lambda line: None)
    vocab = cache_dir(data_dir, "r13", THRESHOLD) / "vocab.json"
    vocab.write_text(vocab.read_text().replace('"w1"', '"w1x"'))
    logged: list[str] = []
    rebuilt = load_or_build(find_corpus(data_dir), data_dir, THRESHOLD, log=logged.append)
    assert logged[0].startswith(f"lm1b: the vocabulary cache {vocab} does not match its checksum")
    assert "rebuilding" in logged[0]
    assert rebuilt.vocabulary == first.vocabulary
    assert rebuilt.checksums == first.checksums
    shard = data_dir / RELEASE / TRAIN / "news.en-00002-of-00100"
    shard.write_text(shard.read_text() + "w1 w2 w3\n")
    logged.clear()
    changed = load_or_build(find_corpus(data_dir), data_dir, THRESHOLD, log=logged.append)
    assert "building" in logged[0], "a changed corpus has another fingerprint"
    assert len(changed.train) == len(first.train) + 4


def test_ids_overwritten_in_place_are_found_and_the_cache_rebuilt(
    release: tuple[Path, dict],
) -> None:
    data_dir, _ = release
    first = load_or_build(find_corpus(data_dir), data_dir, THRESHOLD, log=lambda line: None)
    clean = first.train.tolist()  # (a memory map of the file damaged below)
    ids = cache_dir(data_dir, "r13", THRESHOLD) / "train.ids"
    values = np.fromfile(ids, dtype=np.int32)
    values[:200] = values[:200][::-1]  # ids changed in place, all valid, size kept
    values.tofile(ids)
    logged: list[str] = []
    rebuilt = load_or_build(find_corpus(data_dir), data_dir, THRESHOLD, log=logged.append)
    assert f"{ids} does not hold what the cache recorded" in logged[0]  # then the build's lines
    assert "rebuilding" in logged[0]
    assert rebuilt.train.tolist() == clean and rebuilt.checksums == first.checksums


def test_the_parquet_copy_gives_the_same_ids(release: tuple[Path, dict], tmp_path: Path) -> None:
    data_dir, written = release
    r13 = load_or_build(find_corpus(data_dir), data_dir, THRESHOLD, log=lambda line: None)
    hub = tmp_path / "hub"
    train = [line for shard in written["train"] for line in shard]
    heldout = [line for shard in written["heldout"] for line in shard]
    write_parquet(hub, train, heldout)
    parquet = load_or_build(find_corpus(hub), hub, THRESHOLD, log=lambda line: None)
    assert parquet.source == "parquet" and parquet.vocabulary == r13.vocabulary
    assert parquet.train.tolist() == r13.train.tolist()
    assert parquet.heldout.tolist() == r13.heldout.tolist()
    pieces = parquet.train_shards
    assert len(pieces) == 99 and sum(p.sentences for p in pieces) == len(train)
    assert max(p.sentences for p in pieces) - min(p.sentences for p in pieces) <= 1
    assert evaluation_spans(parquet, "radam_code") == {"test": (0, len(parquet.heldout))}
    with pytest.raises(DataUnavailable, match="heldout-00001-of-00050 of the r13 release"):
        evaluation_spans(parquet, "benchmark")


def test_the_protocols_choose_their_held_out_shards(release: tuple[Path, dict]) -> None:
    data_dir, _ = release
    corpus = load_or_build(find_corpus(data_dir), data_dir, THRESHOLD, log=lambda line: None)
    shards = {span.name: span for span in corpus.heldout_shards}
    assert evaluation_spans(corpus, "radam_code") == {"test": (0, len(corpus.heldout))}
    benchmark = evaluation_spans(corpus, "benchmark")
    assert list(benchmark) == ["val", "test"]
    first = shards["news.en.heldout-00000-of-00050"]
    second = shards["news.en.heldout-00001-of-00050"]
    assert benchmark["test"] == (first.offset, first.length) == (0, first.length)
    assert benchmark["val"] == (second.offset, second.length)


def test_missing_data_names_the_expected_path_and_the_command(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailable) as missing:
        find_corpus(tmp_path)
    message = str(missing.value)
    assert str(tmp_path / RELEASE / TRAIN) in message and "lm1b-parquet" in message
    assert f"python -m scripts.download_data lm1b --data-dir {tmp_path}" in message
    (tmp_path / RELEASE / TRAIN).mkdir(parents=True)
    with pytest.raises(DataUnavailable, match=f"{tmp_path / RELEASE / TRAIN} has no news.en-"):
        find_corpus(tmp_path)


def test_download_data_checks_the_sentence_counts(
    release: tuple[Path, dict], capsys: pytest.CaptureFixture
) -> None:
    data_dir, _ = release
    assert download_command.main(["lm1b", "--check", "--data-dir", str(data_dir)]) == 1
    error = capsys.readouterr().err
    assert "differs from the r13 release" in error and "30,301,028" in error
    assert error.count("\n") == 1
    empty = data_dir / "nothing"
    assert download_command.main(["lm1b", "--check", "--data-dir", str(empty)]) == 2


def as_nobody(data_dir: Path) -> subprocess.CompletedProcess[str]:
    """``load_or_build`` on ``data_dir`` in a process of user nobody."""
    return run_as_nobody(
        "from data.lm1b.cache import load_or_build\nfrom data.lm1b.files import find_corpus\n"
        f"corpus = load_or_build(find_corpus({str(data_dir)!r}), {str(data_dir)!r}, 3)\n"
        "print(len(corpus.train))"
    )


@needs_root
def test_a_complete_cache_reads_from_a_read_only_directory(tmp_path: Path) -> None:
    """A reader's lock is shared and taken through a read-only descriptor; where no lock file
    exists and none can be written, a complete cache is read without one. Building there is one
    line naming the directory and data_dir."""
    data_dir = Path(tempfile.mkdtemp(dir="/tmp"))  # pytest's own folders are root-only
    try:
        write_release(data_dir)
        built = load_or_build(find_corpus(data_dir), data_dir, THRESHOLD, log=lambda line: None)
        for path in [data_dir, *data_dir.rglob("*")]:  # readable by all, writable by root only
            path.chmod(0o755 if path.is_dir() else 0o644)
        read = as_nobody(data_dir)
        assert read.returncode == 0 and read.stdout.split() == [str(len(built.train))], read
        cache_dir(data_dir, "r13", THRESHOLD).with_name(f"r13-threshold{THRESHOLD}.lock").unlink()
        unlocked = as_nobody(data_dir)
        assert unlocked.returncode == 0, unlocked.stderr
        shutil.rmtree(cache_dir(data_dir, "r13", THRESHOLD))
        refused = as_nobody(data_dir)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert refused.stderr.count("\n") == 1 and "cannot be written" in refused.stderr
        assert "data_dir=" in refused.stderr
    finally:
        shutil.rmtree(data_dir)


@needs_root
def test_an_unreadable_shard_is_one_line_and_leaves_no_partial_cache() -> None:
    data_dir = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        write_release(data_dir)
        for path in [data_dir, *data_dir.rglob("*")]:  # nobody's data_dir ...
            os.chown(path, 65534, 65534)
        shard = data_dir / RELEASE / TRAIN / "news.en-00002-of-00100"
        os.chown(shard, 0, 0)
        shard.chmod(0)  # ... with one shard only root can read
        refused = as_nobody(data_dir)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
        assert refused.stderr.count("\n") == 1 and "Permission denied" in refused.stderr
        assert str(shard) in refused.stderr
        assert [p.name for p in (data_dir / "lm1b-cache").iterdir()] == ["r13-threshold3.lock"]
    finally:
        shutil.rmtree(data_dir)


def test_a_shard_that_is_not_utf8_is_one_line_and_leaves_no_partial_cache(tmp_path: Path) -> None:
    write_release(tmp_path)
    shard = tmp_path / RELEASE / TRAIN / "news.en-00002-of-00100"
    shard.write_bytes(shard.read_bytes() + b"caf\xe9\n")
    with pytest.raises(DataError) as raised:
        load_or_build(find_corpus(tmp_path), tmp_path, THRESHOLD, log=lambda line: None)
    assert str(raised.value).startswith(f"{shard} is not UTF-8 text (byte ")
    assert [p.name for p in (tmp_path / "lm1b-cache").iterdir()] == ["r13-threshold3.lock"]
