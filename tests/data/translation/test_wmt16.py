"""WMT'16 En-De: the Scaling-NMT files with a joined dictionary, and the native preparation
from the hub's parquet shards (written here in the hub's layout)."""

from __future__ import annotations

from pathlib import Path

import pytest

from data import DataUnavailable
from data import download as download_command
from data.translation.corpus import load_corpus
from data.translation.dictionary import Dictionary
from data.translation.text import remove_bpe
from data.wmt16 import files, hub
from tests.data.translation.tiny_corpora import write_hub_parquet, write_wmt_files


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_the_scaling_nmt_files_share_one_joined_dictionary(tmp_path: Path) -> None:
    written = write_wmt_files(tmp_path)
    corpus = load_corpus("wmt16", "en", "de", tmp_path)
    train = written["train"]
    joined = Dictionary.build([[p[0] for p in train], [p[1] for p in train]], nwords=32_768)
    assert corpus.src_dict == corpus.tgt_dict == joined
    assert corpus.src_dict.index("haus") > 3 and corpus.src_dict.index("house") > 3  # de, en
    folder = tmp_path / "wmt16" / "data-bin" / "wmt16_en_de_bpe32k"
    assert (folder / "dict.en.txt").read_text() == (folder / "dict.de.txt").read_text()
    assert (corpus.valid_set, corpus.test_set, corpus.source) == (
        "newstest2013", "newstest2014", "files"
    )  # fmt: skip
    test_en = corpus.splits["test"][0]
    assert test_en[0].tolist() == joined.encode_line(written["test"][0][0]).tolist()
    reverse = load_corpus("wmt16", "de", "en", tmp_path)
    assert reverse.directory.name == "wmt16_de_en_bpe32k" and reverse.src_dict == joined


@pytest.fixture(scope="module")
def hub_prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    data_dir = tmp_path_factory.mktemp("wmt16")
    long_pair = (" ".join(["wort"] * 81) + ".", " ".join(["word"] * 81) + ".")  # 82 tokens
    written = write_hub_parquet(data_dir, extra_train=(long_pair,))
    hub.prepare(data_dir, workers=1)
    return data_dir, written


def test_hub_preparation_tokenizes_cleans_and_applies_joint_bpe(hub_prepared) -> None:
    data_dir, written = hub_prepared
    out = files.prepared_dir(data_dir, "hub")
    raw_de = _lines(out / "train.de")
    assert len(raw_de) == len(written["train"]) and raw_de[0] == "Ein Satz mit Umbruch."
    assert _lines(out / "train.tok.en")[0] == "A sentence with a break ."
    cleaned = _lines(out / "train.tok.clean.de")
    assert len(cleaned) == len(written["train"]) - 1  # the 82-token pair is dropped
    assert _lines(out / "newstest2014.tok.de") == [
        de[:-1] + " ." for de, _ in written["test"]
    ]  # the test set is tokenized, not cleaned (and keeps its case)
    assert _lines(out / "bpe.32000")[0] == "#version: 0.2"
    for split, stem in (("train", "train.tok.clean"), ("valid", "newstest2013.tok"),
                        ("test", "newstest2014.tok")):  # fmt: skip
        for lang in ("en", "de"):
            bpe = _lines(out / f"{files.PREFIXES[split]}.{lang}")
            assert [remove_bpe(line) for line in bpe] == _lines(out / f"{stem}.{lang}")


def test_hub_source_loads_with_newstest2014_as_test(hub_prepared) -> None:
    data_dir, written = hub_prepared
    corpus = load_corpus("wmt16", "de", "en", data_dir, source="hub")
    assert corpus.test_set == "newstest2014" and corpus.source == "hub"
    assert len(corpus.splits["test"][0]) == len(written["test"])
    assert corpus.directory.name == "wmt16_de_en_hub_bpe32k"


def test_check_reports_each_source_and_the_newstest_sizes(
    hub_prepared, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data_dir, _ = hub_prepared
    assert download_command.main(["wmt16", "--check", "--data-dir", str(data_dir)]) == 1
    assert "newstest2013.tok.bpe.32000 has 4 pairs, but newstest2013 has 3,000" in (
        capsys.readouterr().err
    )
    assert download_command.main(["wmt16", "--check", "--data-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and str(files.prepared_dir(tmp_path, "files")) in error
    assert f"python -m scripts.download_data wmt16 --data-dir {tmp_path}" in error


def test_missing_hub_shards_name_the_folder(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailable, match=r"no .*hub/wmt16/de-en/train-\*.parquet"):
        hub.parquet_files(tmp_path, "train")
