"""``load_corpus``: prepared text binarized once into a fairseq data-bin folder, mapped back, and
the one-line refusals (missing data, unknown pair, a dictionary that does not match the ids)."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from data import DataError, DataUnavailable
from data.translation.binarized import TokenArray
from data.translation.corpus import load_corpus
from data.translation.dictionary import Dictionary
from tests.data.as_nobody import NOBODY, needs_root, run_as_nobody
from tests.data.translation.tiny_corpora import write_prepared_iwslt

BIN = Path("iwslt14") / "data-bin" / "iwslt14.tokenized.de-en"


def test_prepared_text_is_binarized_as_fairseq_preprocess(tmp_path: Path) -> None:
    written = write_prepared_iwslt(tmp_path)
    corpus = load_corpus("iwslt14", "de", "en", tmp_path)
    train_de = [pair[0] for pair in written["train"]]
    assert corpus.src_dict == Dictionary.build([train_de])  # separate dictionaries
    assert corpus.tgt_dict == Dictionary.build([[pair[1] for pair in written["train"]]])
    assert corpus.directory == tmp_path / BIN
    for split in ("train", "valid", "test"):
        source, target = corpus.splits[split]
        assert len(source) == len(target) == len(written[split])
        for i, (de, en) in enumerate(written[split]):
            assert source[i].tolist() == corpus.src_dict.encode_line(de).tolist()
            assert target[i].tolist() == corpus.tgt_dict.encode_line(en).tolist()
        assert (tmp_path / BIN / f"{split}.de-en.de.bin").is_file()
    assert "TED dev2010 + TEDX dev2012" in corpus.test_set and corpus.bpe == "@@ "
    dict_file = tmp_path / BIN / "dict.de.txt"
    assert corpus.checksums["dict.de.txt"] == hashlib.sha256(dict_file.read_bytes()).hexdigest()
    pairs = [(split, lang) for split in ("train", "valid", "test") for lang in ("de", "en")]
    assert set(corpus.checksums) == {"dict.de.txt", "dict.en.txt"} | {
        f"{split}.de-en.{lang}" for split, lang in pairs
    } | {f"text/{split}.{lang}" for split, lang in pairs}
    text = tmp_path / "iwslt14" / "iwslt14.tokenized.de-en" / "train.de"
    assert corpus.checksums["text/train.de"] == hashlib.sha256(text.read_bytes()).hexdigest()
    assert corpus.counts["test.de-en.de"]["sentences"] == len(written["test"])


def test_the_cache_is_reused_rebuilt_when_the_text_changes_and_kept_per_direction(
    tmp_path: Path,
) -> None:
    write_prepared_iwslt(tmp_path)
    first = load_corpus("iwslt14", "de", "en", tmp_path)
    manifest = tmp_path / BIN / "manifest.json"
    stamp = manifest.stat().st_mtime_ns
    again = load_corpus("iwslt14", "de", "en", tmp_path)
    assert manifest.stat().st_mtime_ns == stamp and again.checksums == first.checksums
    reverse = load_corpus("iwslt14", "en", "de", tmp_path)
    assert reverse.src_dict == first.tgt_dict and reverse.source_lang == "en"
    assert (tmp_path / "iwslt14/data-bin/iwslt14.tokenized.en-de/train.en-de.en.idx").is_file()
    test_de = tmp_path / "iwslt14" / "iwslt14.tokenized.de-en" / "test.de"
    test_de.write_text("das neue haus .\n" * 5, encoding="utf-8")
    rebuilt = load_corpus("iwslt14", "de", "en", tmp_path)
    assert (
        rebuilt.splits["test"][0][0].tolist()
        == rebuilt.src_dict.encode_line("das neue haus .").tolist()
    )
    assert rebuilt.checksums["test.de-en.de"] != first.checksums["test.de-en.de"]


@pytest.mark.parametrize("member", ["dict.en.txt", "valid.de-en.de.bin", "train.de-en.en.idx"])
def test_a_cache_missing_a_member_is_rebuilt_and_a_killed_builds_copy_removed(
    tmp_path: Path, member: str
) -> None:
    """A cache is whole or absent: a deleted member rebuilds it from the text (the manifest
    alone does not make it fresh); the next build removes what killed builds left behind."""
    write_prepared_iwslt(tmp_path)
    first = load_corpus("iwslt14", "de", "en", tmp_path)
    leftovers = [tmp_path / BIN.parent / f".{BIN.name}.{kind}-999999" for kind in ("tmp", "old")]
    for leftover in leftovers:  # a full binarized copy each, as a SIGKILLed build leaves it
        leftover.mkdir()
        (leftover / "train.de-en.de.bin").write_bytes(b"\0" * 64)
    (tmp_path / BIN / member).unlink()
    rebuilt = load_corpus("iwslt14", "de", "en", tmp_path)
    assert (tmp_path / BIN / member).is_file()
    assert rebuilt.checksums == first.checksums  # the same text gives the same cache
    assert not any(leftover.exists() for leftover in leftovers)


def test_a_cache_missing_a_member_without_its_text_is_one_line(tmp_path: Path) -> None:
    write_prepared_iwslt(tmp_path)
    load_corpus("iwslt14", "de", "en", tmp_path)
    (tmp_path / BIN / "dict.en.txt").unlink()
    (tmp_path / "iwslt14" / "iwslt14.tokenized.de-en" / "train.en").unlink()
    with pytest.raises(DataUnavailable) as raised:
        load_corpus("iwslt14", "de", "en", tmp_path)
    message = str(raised.value)
    assert "\n" not in message and "lacks dict.en.txt" in message and "train.en" in message


def test_a_fairseq_preprocess_folder_is_read_as_it_is(tmp_path: Path) -> None:
    write_prepared_iwslt(tmp_path)
    built = load_corpus("iwslt14", "de", "en", tmp_path)
    (tmp_path / BIN / "manifest.json").unlink()  # what fairseq-preprocess leaves: no manifest,
    (tmp_path / BIN.parent / f"{BIN.name}.lock").unlink()  # and no build lock of the suite
    for path in (tmp_path / "iwslt14" / "iwslt14.tokenized.de-en").iterdir():
        path.unlink()
    loaded = load_corpus("iwslt14", "de", "en", tmp_path)
    arrays = {key: sha for key, sha in built.checksums.items() if not key.startswith("text/")}
    assert loaded.checksums == arrays and loaded.counts == {}  # the text it came from: unknown
    assert loaded.splits["valid"][1][2].tolist() == built.splits["valid"][1][2].tolist()


def test_missing_data_names_the_path_and_the_preparation_command(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailable) as error:
        load_corpus("iwslt14", "de", "en", tmp_path)
    message = str(error.value)
    assert "\n" not in message
    assert str(tmp_path / "iwslt14" / "iwslt14.tokenized.de-en" / "train.de") in message
    assert f"python -m scripts.download_data iwslt14 --data-dir {tmp_path}" in message


def test_unknown_corpus_pair_or_source_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(DataError) as error:
        load_corpus("iwslt14", "fr", "en", tmp_path)
    assert str(error.value) == "language pair 'fr'-'en' is unknown for iwslt14: de-en or en-de"
    with pytest.raises(DataError, match="language pair 'de'-'de' is unknown for iwslt14"):
        load_corpus("iwslt14", "de", "de", tmp_path)
    with pytest.raises(DataError, match="^corpus 'iwslt15' is unknown: one of iwslt14, wmt16$"):
        load_corpus("iwslt15", "de", "en", tmp_path)
    with pytest.raises(DataError, match="source='hub' is invalid for iwslt14: files"):
        load_corpus("iwslt14", "de", "en", tmp_path, source="hub")


def test_a_dictionary_that_does_not_match_the_binarized_data_is_refused(tmp_path: Path) -> None:
    write_prepared_iwslt(tmp_path)
    load_corpus("iwslt14", "de", "en", tmp_path)
    dict_file = tmp_path / BIN / "dict.en.txt"
    rows = dict_file.read_text(encoding="utf-8").splitlines()
    dict_file.write_text("\n".join([rows[1], rows[0], *rows[2:]]) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as error:
        load_corpus("iwslt14", "de", "en", tmp_path)
    message = str(error.value)
    assert "\n" not in message and "dict.en.txt (sha256" in message
    assert "does not match the dictionary train.de-en.en.bin was binarized with" in message
    # without a manifest (a fairseq folder), ids beyond the dictionary are caught
    (tmp_path / BIN / "manifest.json").unlink()
    (tmp_path / BIN.parent / f"{BIN.name}.lock").unlink()
    dict_file.write_text("\n".join(rows[:2]) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"train.de-en.en.bin holds id \d+ but .*dict.en.txt has"):
        load_corpus("iwslt14", "de", "en", tmp_path)


def test_source_and_target_of_different_lengths_are_refused(tmp_path: Path) -> None:
    write_prepared_iwslt(tmp_path)
    valid_en = tmp_path / "iwslt14" / "iwslt14.tokenized.de-en" / "valid.en"
    valid_en.write_text(valid_en.read_text(encoding="utf-8") + "one more .\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"valid.de has 6 lines but .*valid.en has 7"):
        load_corpus("iwslt14", "de", "en", tmp_path)
    assert not (tmp_path / BIN).exists()


def _load(data_dir: str) -> str:
    corpus = load_corpus("iwslt14", "de", "en", data_dir)
    return json.dumps(corpus.checksums, sort_keys=True)


def test_concurrent_loads_share_one_cache(tmp_path: Path) -> None:
    write_prepared_iwslt(tmp_path, sizes=(400, 20, 20))
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.map(_load, [str(tmp_path)] * 2)
    assert results[0] == results[1]
    leftovers = [p.name for p in (tmp_path / BIN).parent.iterdir() if p.name.startswith(".")]
    assert leftovers == [] and os.path.isfile(tmp_path / BIN / "manifest.json")


@needs_root
def test_an_unreadable_text_is_one_line_and_leaves_no_partial_cache() -> None:
    data_dir = Path(tempfile.mkdtemp(dir="/tmp"))  # pytest's own folders are root-only
    try:
        write_prepared_iwslt(data_dir)
        for path in [data_dir, *data_dir.rglob("*")]:
            os.chown(path, NOBODY, NOBODY)
        text = data_dir / "iwslt14" / "iwslt14.tokenized.de-en" / "valid.de"
        os.chown(text, 0, 0)
        text.chmod(0)  # only root can read it
        refused = run_as_nobody(
            "from data.translation.corpus import load_corpus\n"
            f"load_corpus('iwslt14', 'de', 'en', {str(data_dir)!r})"
        )
        assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
        assert refused.stderr.count("\n") == 1 and "Permission denied" in refused.stderr
        assert str(text) in refused.stderr
        assert sorted(p.name for p in (data_dir / BIN.parent).iterdir()) == [f"{BIN.name}.lock"]
    finally:
        shutil.rmtree(data_dir)


def test_a_cache_whose_arrays_were_changed_is_rebuilt_or_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The arrays are verified against the sha256 the cache recorded (once per version of each
    file, ``verified.json``): ids overwritten in place are found, the cache rebuilt from the
    text with one line saying so, or refused in one line when the text is gone."""
    write_prepared_iwslt(tmp_path)
    clean = load_corpus("iwslt14", "de", "en", tmp_path)
    assert (tmp_path / BIN / "verified.json").is_file()  # stamped when built
    array = tmp_path / BIN / "train.de-en.en.bin"
    ids = np.fromfile(array, dtype=TokenArray(array.with_suffix("")).dtype)
    ids[:300] = ids[:300][::-1]  # 300 ids changed in place, all valid, size kept
    damaged = ids.tobytes()
    array.write_bytes(damaged)
    rebuilt = load_corpus("iwslt14", "de", "en", tmp_path)
    said = capsys.readouterr().out
    assert said.count("\n") == 1 and "train.de-en.en.bin do not hold what" in said
    assert "binarizing" in said and rebuilt.checksums == clean.checksums
    assert array.read_bytes() != damaged
    array.write_bytes(damaged)
    (tmp_path / "iwslt14" / "iwslt14.tokenized.de-en" / "train.en").unlink()
    (tmp_path / BIN / "manifest.json").touch()  # the cache itself looks fresh
    with pytest.raises(DataError) as refused:
        load_corpus("iwslt14", "de", "en", tmp_path)
    message = str(refused.value)
    assert "\n" not in message and "train.de-en.en.bin do not hold" in message
    assert "prepare" in message or "download" in message


def test_a_small_cache_is_verified_at_every_start_even_with_its_time_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cache below ``SMALL_BYTES`` is hashed at every start, not trusted from its stamp: ids
    changed in place with the file's size and modification time put back (as a bad sector or a
    careless copy leaves them) are still found, and the cache rebuilt with one line."""
    write_prepared_iwslt(tmp_path)
    clean = load_corpus("iwslt14", "de", "en", tmp_path)
    array = tmp_path / BIN / "valid.de-en.de.bin"
    before = array.stat()
    ids = np.fromfile(array, dtype=TokenArray(array.with_suffix("")).dtype)
    array.write_bytes(ids[::-1].tobytes())
    os.utime(array, ns=(before.st_atime_ns, before.st_mtime_ns))
    capsys.readouterr()
    rebuilt = load_corpus("iwslt14", "de", "en", tmp_path)
    said = capsys.readouterr().out
    assert said.count("\n") == 1 and "valid.de-en.de.bin do not hold what" in said
    assert rebuilt.checksums == clean.checksums


@pytest.mark.parametrize("damage", ["deleted", "list", "truncated", "member"])
def test_a_cache_missing_a_member_or_its_manifest_is_rebuilt_with_one_line(
    tmp_path: Path, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cache the suite built (its lock beside it) whose manifest is gone, holds a list or was
    cut short, or which lacks a member, is rebuilt from the text with one line naming why; a
    folder of fairseq-preprocess output (no manifest, no lock) is still read as it is."""
    write_prepared_iwslt(tmp_path)
    clean = load_corpus("iwslt14", "de", "en", tmp_path)
    manifest = tmp_path / BIN / "manifest.json"
    if damage == "deleted":
        manifest.unlink()
    elif damage == "list":
        manifest.write_text("[1, 2]\n")
    elif damage == "truncated":
        manifest.write_bytes(manifest.read_bytes()[:40])
    else:
        (tmp_path / BIN / "dict.en.txt").unlink()
    capsys.readouterr()
    rebuilt = load_corpus("iwslt14", "de", "en", tmp_path)
    said = capsys.readouterr().out
    assert said.count("\n") == 1 and "binarizing" in said
    assert ("dict.en.txt" in said) if damage == "member" else ("manifest.json" in said)
    assert rebuilt.checksums == clean.checksums and manifest.is_file()
    manifest.unlink()
    (tmp_path / BIN.parent / f"{BIN.name}.lock").unlink()  # now as fairseq-preprocess leaves it
    foreign = load_corpus("iwslt14", "de", "en", tmp_path)
    assert capsys.readouterr().out == "" and not manifest.exists()
    assert foreign.checksums.keys() <= clean.checksums.keys()
