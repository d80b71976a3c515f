"""The translation data's bad inputs through the real entry point
(``python -m experiments.train task=iwslt14_de_en``): one line on stderr, exit 2, no traceback,
no run directory. Each case is a fresh interpreter (≈ 8 s on an idle machine), so one runs in
``make test`` and the others in ``make test-all``; ``test_corpus.py`` checks every message fast."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.translation.corpus import load_corpus
from tests.data.translation.tiny_corpora import write_prepared_iwslt
from tests.experiments.cli import Workspace

BIN = Path("iwslt14") / "data-bin" / "iwslt14.tokenized.de-en"


def _prepared(data_dir: Path) -> Path:
    write_prepared_iwslt(data_dir)
    load_corpus("iwslt14", "de", "en", data_dir)
    return data_dir


def _mismatched(data_dir: Path) -> Path:
    """A cache whose German dictionary was reordered after binarizing."""
    _prepared(data_dir)
    dict_file = data_dir / BIN / "dict.de.txt"
    rows = dict_file.read_text(encoding="utf-8").splitlines()
    dict_file.write_text("\n".join([rows[2], *rows[:2], *rows[3:]]) + "\n", encoding="utf-8")
    return data_dir


CASES = {
    "dictionary": (_mismatched, [], ["dict.de.txt (sha256", "does not match the dictionary"]),
    "missing": (lambda data_dir: data_dir, [], [
        "iwslt14/iwslt14.tokenized.de-en/train.de is missing",
        "run `python -m scripts.download_data iwslt14 --data-dir ",
    ]),
    "pair": (_prepared, ["task.source_lang=fr"],
             ["language pair 'fr'-'en' is unknown for iwslt14: de-en or en-de"]),
    "long": (_prepared, ["task.max_tokens=6", "task.long_pairs=raise", "task.accept_corpus=true"],
             ["train sentence pair", "more than max_tokens=6"]),
}  # fmt: skip


@pytest.mark.parametrize(
    "name",
    [
        name if name == "dictionary" else pytest.param(name, marks=pytest.mark.slow)
        for name in CASES
    ],  # fmt: skip
)
def test_data_bad_input_is_one_line_and_exit_2(name: str, tmp_path: Path) -> None:
    make_data, overrides, expected = CASES[name]
    data_dir = make_data(tmp_path / "data")
    workspace = Workspace.create(tmp_path / "workspace")
    finished = workspace.run(["task=iwslt14_de_en", f"data_dir={data_dir}", "device=cpu",
                              *overrides])  # fmt: skip
    assert finished.returncode == 2, finished.describe()
    assert finished.stderr.count("\n") == 1 and "Traceback" not in finished.stderr
    for text in expected:
        assert text in finished.stderr, finished.describe()
    assert workspace.run_dirs() == []
