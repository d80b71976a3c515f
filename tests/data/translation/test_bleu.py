"""The BLEU pipeline (``experiments/tasks/translation/bleu.py``, with ``data.translation.text``):
summed per-sentence statistics against sacrebleu's own ``corpus_bleu`` and against a hand
computation of fairseq's tokenized BLEU-4. (Kept with the translation data tests: the
``tests/experiments/translation`` folder belongs to the task's tests.)"""

from __future__ import annotations

import math

import pytest
import sacrebleu

from data.translation.dictionary import Dictionary
from data.translation.text import detokenize, remove_bpe
from experiments.tasks.translation.bleu import (
    bleu_from_stats,
    sacrebleu_from_stats,
    sacrebleu_stats,
    tokenized_bleu_stats,
)

# Tokenized, lowercased, BPE-segmented text as the IWSLT files hold it.
HYPOTHESES_BPE = [
    "we see a big tre@@ e in the park .",
    "it &apos;s a small house .",
    "the gar@@ den is big , isn &apos;t it ?",
    "",
    "tomorrow we see &quot; the house &quot; .",
]
REFERENCES_BPE = [
    "we see a big tre@@ e in the park today .",
    "it &apos;s a small house .",
    "the gar@@ den is very big , isn &apos;t it ?",
    "thank you .",
    "tomorrow we will see &quot; the house &quot; .",
]


def _total(rows: list[dict[str, float]]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for row in rows:
        for key, value in row.items():
            totals[key] = totals.get(key, 0.0) + value
    return totals


def test_tokenized_bleu_equals_a_hand_computation() -> None:
    hypotheses = ["the cat sat on the mat", "a b"]
    references = ["the cat sat on a mat", "a b c"]
    totals = _total(
        [tokenized_bleu_stats(h, r) for h, r in zip(hypotheses, references, strict=True)]
    )
    # sentence 1: 1-grams 5/6 ('the' twice in the hypothesis, once in the reference: clipped
    # to 1), 2-grams 3/5 (the cat, cat sat, sat on), 3-grams 2/4, 4-grams 1/3;
    # sentence 2: 2/2, 1/1, 0/0, 0/0
    assert [totals[f"bleu_match_{n}"] for n in range(1, 5)] == [7, 4, 2, 1]
    assert [totals[f"bleu_count_{n}"] for n in range(1, 5)] == [8, 6, 4, 3]
    assert (totals["bleu_sys_len"], totals["bleu_ref_len"]) == (8, 9)
    precision = (7 / 8) * (4 / 6) * (2 / 4) * (1 / 3)
    expected = math.exp(1 - 9 / 8) * precision**0.25 * 100
    assert bleu_from_stats(totals) == pytest.approx(expected, rel=1e-12)


def test_unknown_words_never_match_and_an_empty_hypothesis_is_one_token() -> None:
    stats = tokenized_bleu_stats("a <unk> b", "a <unk> b")
    assert [stats[f"bleu_match_{n}"] for n in (1, 2, 3)] == [2, 0, 0]
    empty = tokenized_bleu_stats("", "x y")
    assert (empty["bleu_sys_len"], empty["bleu_count_1"], empty["bleu_match_1"]) == (1, 1, 0)
    assert bleu_from_stats(_total([empty])) == 0.0


def test_the_pipeline_equals_sacrebleus_corpus_bleu_and_sums_across_shards() -> None:
    hypotheses = [detokenize(remove_bpe(line), "en") for line in HYPOTHESES_BPE]
    references = [detokenize(remove_bpe(line), "en") for line in REFERENCES_BPE]
    assert hypotheses[1] == "it's a small house." and references[4].count('"') == 2
    rows = [sacrebleu_stats(h, r) for h, r in zip(hypotheses, references, strict=True)]
    score, signature = sacrebleu_from_stats(_total(rows))
    reference = sacrebleu.corpus_bleu(hypotheses, [references])
    assert score == pytest.approx(reference.score, abs=1e-9) and score > 0
    metric = sacrebleu.BLEU()
    metric.corpus_score(hypotheses, [references])
    assert signature == metric.get_signature().format()
    assert signature.startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    # two "ranks" summing their halves give the same corpus score
    first, second = _total(rows[:2]), _total(rows[2:])
    both = {key: first.get(key, 0.0) + second.get(key, 0.0) for key in first | second}
    assert sacrebleu_from_stats(both)[0] == score


def test_tokenized_bleu_of_bpe_removed_ids_matches_fairseq_generates_text() -> None:
    dictionary = Dictionary.build([REFERENCES_BPE + HYPOTHESES_BPE])
    rows = []
    for hypothesis, reference in zip(HYPOTHESES_BPE, REFERENCES_BPE, strict=True):
        hyp = dictionary.string(dictionary.encode_line(hypothesis), "@@ ")
        ref = dictionary.string(dictionary.encode_line(reference), "@@ ", escape_unk=True)
        assert hyp == remove_bpe(hypothesis)
        rows.append(tokenized_bleu_stats(hyp, ref))
    totals = _total(rows)
    assert totals["bleu_sys_len"] == sum(max(len(remove_bpe(h).split()), 1) for h in HYPOTHESES_BPE)
    assert totals["bleu_match_1"] == 9 + 6 + 9 + 0 + 8
    assert 0 < bleu_from_stats(totals) < 100
