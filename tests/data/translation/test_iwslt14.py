"""IWSLT'14: the native ``prepare-iwslt14.sh`` on a tiny archive in the real layout, and
``python -m scripts.download_data iwslt14``'s checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from data import download as download_command
from data.iwslt14 import download, files
from data.translation.preparation import clean_corpus, tokenize_lines
from data.translation.text import remove_bpe
from tests.data.translation.tiny_corpora import TEST_PARTS, write_iwslt_archive


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    data_dir = tmp_path_factory.mktemp("iwslt")
    written = write_iwslt_archive(data_dir / "upstream")
    download.download(data_dir, url=written["archive"].as_uri(), workers=1)
    return data_dir, written


def test_training_text_is_filtered_tokenized_cleaned_and_lowercased(prepared) -> None:
    data_dir, written = prepared
    tmp = files.prepared_dir(data_dir) / "tmp"
    kept = [line[2] for line in written["train"] if line[2] is not None]
    for position, lang in enumerate(("de", "en")):
        assert _lines(tmp / f"train.tags.de-en.{lang}") == [pair[position] for pair in kept]
    # the url/keywords/talkid lines, the 1.5 ratio, the empty and the 176-token pairs are gone;
    # the title and description keep their text, the speaker tag line is tokenized like text
    assert kept[:3] == [
        ("&lt; speaker &gt; alice &lt; / speaker &gt;",) * 2,
        ("alice : über ideen", "alice : about ideas"),
        ("ein vortrag , kurz .", "a talk , short ."),
    ]
    assert kept[3] == ("geht &apos; s dir gut ?", "it &apos;s fine , isn &apos;t it ?")


def test_valid_is_every_23rd_pair_and_test_concatenates_fairseqs_five_sets(prepared) -> None:
    data_dir, written = prepared
    tmp = files.prepared_dir(data_dir) / "tmp"
    kept = [line[2] for line in written["train"] if line[2] is not None]
    for position, lang in enumerate(("de", "en")):
        side = [pair[position] for pair in kept]
        assert _lines(tmp / f"valid.{lang}") == side[22::23] and len(side[22::23]) == 2
        assert _lines(tmp / f"train.{lang}") == [s for n, s in enumerate(side, 1) if n % 23]
        expected = []
        for part in TEST_PARTS:  # dev2010, TEDX dev2012, tst2010-2012: not the sorted order
            for pair in written["test"][part]:
                words = pair[position].lower()[:-1]
                expected.append(words + " .")
        expected[0] = ("es ist &apos; s .", "it &apos;s here .")[position]  # ’ became '
        assert _lines(tmp / f"test.{lang}") == expected


def test_joint_bpe_is_applied_to_every_split_and_removes_exactly(prepared) -> None:
    data_dir, _ = prepared
    folder = files.prepared_dir(data_dir)
    assert _lines(folder / "code")[0] == "#version: 0.2"
    segmented = 0
    for split in ("train", "valid", "test"):
        for lang in ("de", "en"):
            bpe = _lines(folder / f"{split}.{lang}")
            segmented += sum("@@ " in line for line in bpe)
            assert [remove_bpe(line) for line in bpe] == _lines(folder / "tmp" / f"{split}.{lang}")
    assert segmented > 0


def test_check_compares_line_counts_with_fairseqs_split_sizes(
    prepared, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data_dir, _ = prepared
    assert download_command.main(["iwslt14", "--check", "--data-dir", str(data_dir)]) == 1
    error = capsys.readouterr().err
    assert "63 / 2 / 15 train/valid/test pairs" in error and "160,239 / 7,283 / 6,750" in error
    assert download_command.main(["iwslt14", "--check", "--data-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert str(files.prepared_dir(tmp_path) / "train.de") in error
    assert f"python -m scripts.download_data iwslt14 --data-dir {tmp_path}" in error


def test_a_broken_archive_is_named(tmp_path: Path) -> None:
    archive = tmp_path / "de-en.tgz"
    archive.write_bytes(b"not a tar file")
    with pytest.raises(ValueError, match="de-en.tgz is not a readable tar archive"):
        download.download(tmp_path / "data", url=archive.as_uri())


def test_clean_corpus_follows_clean_corpus_n() -> None:
    source = ["a  b c ", "x", "", "a|b c", "one two three four", "w " * 4]
    target = [" A B C", "1 2 3", "y", "d e", "1 2", "v " * 5]
    kept = list(clean_corpus(source, target, 1, 4, ratio=1.5))
    # whitespace collapsed; 1:3 and 4:2 exceed the ratio; an empty side drops the pair;
    # '|' is removed (the first pair is not factored); 4:5 exceeds the 4-token maximum
    assert kept == [("a b c", "A B C"), ("ab c", "d e")]
    with pytest.raises(ValueError, match="different lengths"):
        list(clean_corpus(["a", "b"], ["a"], 1, 10))


def test_tokenization_in_a_process_pool_keeps_the_order() -> None:
    lines = [f"Satz {i}, oder?" for i in range(50)] + ["   "]
    pooled = tokenize_lines(lines, "de", workers=2, chunk_lines=7)
    assert list(pooled) == list(tokenize_lines(lines, "de"))
    assert list(tokenize_lines(["Satz 3, oder?", "   "], "de")) == ["Satz 3 , oder ?", "   "]


def test_the_final_period_is_split_even_after_a_nonbreaking_prefix() -> None:
    """tokenizer.perl since 2018 (mosesdecoder 9fc964d); sacremoses alone keeps 'Nr.'."""
    lines = ["Das ist Nr.", "Seite Nr. 5 ist z.B. gut.", "Mr. Smith saw the U.S."]
    assert list(tokenize_lines(lines[:2], "de")) == ["Das ist Nr .", "Seite Nr. 5 ist z.B. gut ."]
    assert list(tokenize_lines(lines[2:], "en")) == ["Mr. Smith saw the U.S ."]
