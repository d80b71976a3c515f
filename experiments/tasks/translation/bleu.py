"""Corpus BLEU from statistics summed over sentences, batches and ranks.

Two scores, each from summable per-sentence statistics (host floats), so the loop can add them
up across batches and ranks and the task turns the totals into a score once:

- ``tokenized_bleu_stats`` / ``bleu_from_stats``: fairseq's BLEU-4 (``fairseq/scoring/bleu.py``
  with ``fairseq/clib/libbleu/libbleu.cpp``, as ``fairseq-generate --remove-bpe`` reports it):
  the hypothesis and reference are split on whitespace (the tokenized, BPE-removed text), n-gram
  matches are clipped by the reference counts, a ``<unk>`` in the reference never matches, an
  empty sentence counts as the single token ``</s>`` (the C trimming keeps a lone ``</s>``), and
  the score is ``BP * exp(mean log p_n) * 100`` with ``BP = min(1, exp(1 - ref/sys))`` and no
  smoothing (any zero precision gives 0). The IWSLT numbers of the RAdam paper are this score.
- ``sacrebleu_stats`` / ``sacrebleu_from_stats``: sacrebleu's corpus BLEU (13a tokenization,
  exp smoothing, case-sensitive) on detokenized text, with its signature; summing the
  statistics of every sentence and scoring the totals equals ``sacrebleu.corpus_bleu`` on the
  whole corpus.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from functools import lru_cache

from sacrebleu.metrics import BLEU

ORDER = 4
UNK = "<unk>"
EOS = "</s>"
TOKENIZED_KEYS = (
    *(f"bleu_match_{n}" for n in range(1, ORDER + 1)),
    *(f"bleu_count_{n}" for n in range(1, ORDER + 1)),
    "bleu_sys_len",
    "bleu_ref_len",
)
SACREBLEU_KEYS = (
    *(f"sacrebleu_match_{n}" for n in range(1, ORDER + 1)),
    *(f"sacrebleu_count_{n}" for n in range(1, ORDER + 1)),
    "sacrebleu_sys_len",
    "sacrebleu_ref_len",
)


def _ngrams(tokens: list[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def tokenized_bleu_stats(hypothesis: str, reference: str) -> dict[str, float]:
    """One sentence's n-gram matches and totals (orders 1-4) and lengths, fairseq's way."""
    hyp = hypothesis.split() or [EOS]
    ref = reference.split() or [EOS]
    stats = {"bleu_sys_len": float(len(hyp)), "bleu_ref_len": float(len(ref))}
    for n in range(1, ORDER + 1):
        hyp_counts = _ngrams(hyp, n)
        ref_counts = _ngrams(ref, n)
        matches = sum(
            min(count, ref_counts[gram]) for gram, count in hyp_counts.items() if UNK not in gram
        )
        stats[f"bleu_match_{n}"] = float(matches)
        stats[f"bleu_count_{n}"] = float(max(len(hyp) - n + 1, 0))
    return stats


def bleu_from_stats(totals: Mapping[str, float]) -> float:
    """fairseq's BLEU-4 (0-100) of summed ``tokenized_bleu_stats``; other keys are ignored."""
    sys_len, ref_len = totals["bleu_sys_len"], totals["bleu_ref_len"]
    if sys_len <= 0:
        return 0.0
    log_precision = 0.0
    for n in range(1, ORDER + 1):
        count, match = totals[f"bleu_count_{n}"], totals[f"bleu_match_{n}"]
        if count <= 0 or match <= 0:
            return 0.0
        log_precision += math.log(match / count)
    brevity = min(1.0, math.exp(1.0 - ref_len / sys_len))
    return brevity * math.exp(log_precision / ORDER) * 100.0


@lru_cache(maxsize=1)
def _sacrebleu() -> BLEU:
    return BLEU()


def sacrebleu_stats(hypothesis: str, reference: str) -> dict[str, float]:
    """One sentence's sacrebleu statistics (13a-tokenized n-gram matches and totals, lengths)."""
    score = _sacrebleu().corpus_score([hypothesis], [[reference]])
    stats = {"sacrebleu_sys_len": float(score.sys_len), "sacrebleu_ref_len": float(score.ref_len)}
    for n in range(1, ORDER + 1):
        stats[f"sacrebleu_match_{n}"] = float(score.counts[n - 1])
        stats[f"sacrebleu_count_{n}"] = float(score.totals[n - 1])
    return stats


def sacrebleu_from_stats(totals: Mapping[str, float]) -> tuple[float, str]:
    """sacrebleu's corpus BLEU of summed ``sacrebleu_stats`` and its signature, e.g.
    ``nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0``."""
    metric = _sacrebleu()
    score = metric.compute_bleu(
        correct=[int(totals[f"sacrebleu_match_{n}"]) for n in range(1, ORDER + 1)],
        total=[int(totals[f"sacrebleu_count_{n}"]) for n in range(1, ORDER + 1)],
        sys_len=int(totals["sacrebleu_sys_len"]),
        ref_len=int(totals["sacrebleu_ref_len"]),
        smooth_method=metric.smooth_method,
        smooth_value=metric.smooth_value,
        effective_order=metric.effective_order,
        max_ngram_order=metric.max_ngram_order,
    )
    if not hasattr(metric, "num_refs"):
        metric.corpus_score([""], [[""]])  # the signature needs one scored corpus (nrefs)
    return float(score.score), metric.get_signature().format()
