"""The damaged-data fault trial (``make data-fault-check``): a slice of it in ``make test`` (a
refused and a rebuilt case through the real command line), and the whole trial as a slow test
whose goal is every case as promised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments.data_faults.cases import cases_of
from experiments.data_faults.corpora import CORPORA
from experiments.data_faults.trial import closing_lines, run_trial
from scripts import data_fault_check

SLICE = {
    "ptb: ptb/ptb.valid.txt empty-eval": "refused",
    "lm1b: lm1b-cache/r13-threshold3/train.ids overwritten": "rebuilt",
}


def test_a_slice_of_the_trial_refuses_and_rebuilds_as_promised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "trial.json"
    code = data_fault_check.main(
        ["--corpora", "ptb", "lm1b", "--cases", *SLICE, "--out", str(record)]
    )
    printed = capsys.readouterr().out
    cases = json.loads(record.read_text())["cases"]
    assert {case["label"]: case["verdict"] for case in cases} == SLICE, printed
    assert code == 0 and "2 as promised / 2 tried" in printed
    refused = next(case for case in cases if case["verdict"] == "refused")
    assert "val" in refused["detail"]  # the one line names the split


def test_every_file_is_damaged_every_way_and_each_split_and_folder_has_its_cases(
    tmp_path: Path,
) -> None:
    corpus = CORPORA["lm1b"]
    corpus.write(tmp_path)
    (tmp_path / corpus.cache_folder).mkdir(parents=True)
    for member in ("vocab.json", "train.ids", "heldout.ids", "manifest.json"):
        (tmp_path / corpus.cache_folder / member).write_text("{}")
    cases = cases_of(corpus, tmp_path)
    kinds = {(case.target.rsplit("/", 1)[-1], case.kind) for case in cases}
    assert ("news.en-00002-of-00100", "non-utf8") in kinds
    assert ("news.en.heldout-00001-of-00050", "unreadable") in kinds
    assert ("train.ids", "non-utf8") not in kinds and ("train.ids", "truncated") in kinds
    assert ("manifest.json", "list") in kinds and ("vocab.json", "list") not in kinds
    assert {"empty-eval", "read-only", "kill-replace"} <= {case.kind for case in cases}
    assert len(cases) == 4 * 5 + 4 * 4 + 2 + 1 + 3


@pytest.mark.slow
def test_the_whole_trial_gives_every_case_as_promised() -> None:
    outcomes = run_trial(list(CORPORA))
    assert closing_lines(outcomes) == [f"{len(outcomes)} as promised / {len(outcomes)} tried"]
