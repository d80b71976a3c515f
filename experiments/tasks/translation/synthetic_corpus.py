"""Random sentence pairs of a corpus's shape, for ``scripts.bench_train`` where the corpus is
absent: dictionaries of the real sizes, the real number of pairs per split (the training split
capped by ``train_pairs``) and lengths drawn from a log-normal law.

The length law is an approximation, not a measurement (no copy of the corpora is on the
development machines): ``round(exp(N(log median, sigma)))`` tokens plus ``</s>``, the target
length the source length times a log-normal ratio (σ 0.2), both clipped to ``[1, max_length]``
before ``</s>``. With the IWSLT'14 settings (median 20, σ 0.6) the mean is ≈ 24 tokens per
sentence, the usual figure for its 10k-merge BPE text; WMT'16 uses median 24 (mean ≈ 29).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from omegaconf import DictConfig

from data.translation.dictionary import Dictionary


class SyntheticSequences:
    """Token ids ending in ``</s>`` in one flat array (the shape of a ``TokenArray``)."""

    def __init__(self, sizes: np.ndarray, vocab: int, rng: np.random.Generator, eos: int) -> None:
        self.sizes = sizes.astype(np.int64)
        self.offsets = np.concatenate(([0], np.cumsum(self.sizes)))
        self.tokens = rng.integers(4, vocab, int(self.offsets[-1]), dtype=np.int64)
        self.tokens[self.offsets[1:] - 1] = eos

    def __len__(self) -> int:
        return len(self.sizes)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.tokens[self.offsets[index] : self.offsets[index + 1]]


@dataclass
class SyntheticCorpus:
    src_dict: Dictionary
    tgt_dict: Dictionary
    splits: dict[str, tuple[SyntheticSequences, SyntheticSequences]]


def dictionary_of_size(size: int) -> Dictionary:
    dictionary = Dictionary()
    for index in range(len(dictionary), size):
        dictionary.add_symbol(f"w{index}")
    return dictionary


def synthetic_corpus(spec: DictConfig, seed: int) -> SyntheticCorpus:
    """``spec``: ``src_vocab``, ``tgt_vocab``, ``joined`` (one dictionary), ``train_pairs``,
    ``valid_pairs``, ``test_pairs``, ``median_length``, ``sigma``, ``max_length``."""
    rng = np.random.default_rng(seed)
    src_dict = dictionary_of_size(int(spec.src_vocab))
    tgt_dict = src_dict if spec.get("joined", False) else dictionary_of_size(int(spec.tgt_vocab))
    eos = src_dict.eos()
    splits = {}
    for split in ("train", "valid", "test"):
        count = int(spec[f"{split}_pairs"])
        words = np.exp(rng.normal(np.log(float(spec.median_length)), float(spec.sigma), count))
        source = np.clip(np.round(words), 1, int(spec.max_length))
        ratio = np.exp(rng.normal(0.0, 0.2, count))
        target = np.clip(np.round(source * ratio), 1, int(spec.max_length))
        splits[split] = (
            SyntheticSequences(source + 1, len(src_dict), rng, eos),
            SyntheticSequences(target + 1, len(tgt_dict), rng, eos),
        )
    return SyntheticCorpus(src_dict, tgt_dict, splits)
