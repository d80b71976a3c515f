"""From decoded ids to summable BLEU statistics, as fairseq-generate scores its output.

The hypothesis is the best finished beam; hypothesis and reference (the binarized target, so an
out-of-vocabulary reference word is ``<unk>`` and never matches) become text through the target
dictionary with BPE removed (``--remove-bpe``). fairseq's tokenized BLEU-4 is computed on that
tokenized text (the IWSLT numbers); sacrebleu on its Moses-detokenized form
(``experiments.tasks.translation.bleu``). Both are sums over sentences, so batches and ranks add.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from data.translation.dictionary import Dictionary
from data.translation.text import detokenize
from experiments.tasks.translation.beam_search import Hypothesis
from experiments.tasks.translation.bleu import sacrebleu_stats, tokenized_bleu_stats


def add_into(totals: dict[str, float], stats: dict[str, float]) -> None:
    for key, value in stats.items():
        totals[key] = totals.get(key, 0.0) + value


def bleu_statistics(
    hypotheses: Sequence[Sequence[Hypothesis]],
    references: Sequence[np.ndarray],
    dictionary: Dictionary,
    bpe: str | None,
    target_lang: str,
) -> dict[str, float]:
    """Summed tokenized-BLEU and sacrebleu statistics of a batch (host floats), plus the count
    of decoded sentences."""
    totals: dict[str, float] = {"sentences": float(len(references))}
    for finished, reference in zip(hypotheses, references, strict=True):
        hypothesis = dictionary.string(finished[0].tokens, bpe) if finished else ""
        target = dictionary.string(reference, bpe)
        add_into(totals, tokenized_bleu_stats(hypothesis, target))
        add_into(
            totals,
            sacrebleu_stats(detokenize(hypothesis, target_lang), detokenize(target, target_lang)),
        )
    return totals
