"""Sequence reversal as translation (configs/task/reverse_translation.yaml): an offline sequence
task for the optimizer benchmark with an unambiguous optimum.

Source sentences are random words over ``task.corpus.vocabulary`` symbols with lengths uniform
in ``[min_length, max_length]``; the reference is the same words in reverse order (Sutskever et
al. 2014 reversed source sentences to ease learning; reversal is also a standard algorithmic
probe of sequence models). A perfect model decodes every reference exactly: BLEU 100, and its
label-smoothed loss reaches the smoothing floor. The pairs of each split are a pure function of
``task.corpus_seed``, not of the run's seed, so every run shares them.

Training, loss, beam search and BLEU are the translation task's (``build_task``): one joint
dictionary, no BPE, ``task.model`` a small ``TransformerModel``.
"""

from __future__ import annotations

import numpy as np
import torch
from omegaconf import DictConfig

from data.seeding import derive_seed
from data.translation.dictionary import Dictionary
from experiments.config_checks import ConfigError, positive_int
from experiments.distributed import World
from experiments.tasks.translation.synthetic_corpus import dictionary_of_size
from experiments.tasks.translation.task import TranslationTask, build_task, check_keys

SPLITS = ("train", "valid", "test")


class FlatSequences:
    """Sentences stored end to end in one array, each ending in ``</s>`` (the shape of a
    ``TokenArray``, as ``TokenSequences`` asks)."""

    def __init__(self, tokens: np.ndarray, sizes: np.ndarray) -> None:
        self.tokens, self.sizes = tokens, sizes.astype(np.int64)
        self.offsets = np.concatenate(([0], np.cumsum(self.sizes)))

    def __len__(self) -> int:
        return len(self.sizes)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.tokens[self.offsets[index] : self.offsets[index + 1]]


def reversal_pairs(
    dictionary: Dictionary, words: int, count: int, lengths: tuple[int, int], seed: int
) -> tuple[FlatSequences, FlatSequences]:
    """``count`` random sentences of ``words`` symbols (after the four special ones) and their
    reversals, each with ``</s>``."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(lengths[0], lengths[1] + 1, count)
    first = dictionary.nspecial
    source, target = [], []
    for size in sizes.tolist():
        sentence = rng.integers(first, first + words, size)
        source += [*sentence.tolist(), dictionary.eos()]
        target += [*sentence[::-1].tolist(), dictionary.eos()]
    as_array = np.asarray
    return (
        FlatSequences(as_array(source, dtype=np.int64), sizes + 1),
        FlatSequences(as_array(target, dtype=np.int64), sizes + 1),
    )


def check_corpus_keys(cfg: DictConfig) -> tuple[int, tuple[int, int]]:
    """``task.corpus``'s keys (``ConfigError``, one line): the vocabulary and the lengths."""
    spec = cfg.corpus
    words = positive_int("task.corpus.vocabulary", spec.vocabulary)
    low = positive_int("task.corpus.min_length", spec.min_length)
    high = positive_int("task.corpus.max_length", spec.max_length)
    if high < low:
        raise ConfigError(
            f"task.corpus.max_length={high} is invalid: at least task.corpus.min_length={low}"
        )
    for split in SPLITS:
        positive_int(f"task.corpus.{split}_pairs", spec[f"{split}_pairs"])
    return words, (low, high)


def build(
    cfg: DictConfig, *, seed: int, data_dir: str, device: torch.device, world: World
) -> TranslationTask:
    """The task (``data_dir`` is unused: nothing is read)."""
    words, lengths = check_corpus_keys(cfg)
    dictionary = dictionary_of_size(Dictionary().nspecial + words)
    corpus_seed = int(cfg.corpus_seed)
    splits = {
        split: reversal_pairs(
            dictionary,
            words,
            int(cfg.corpus[f"{split}_pairs"]),
            lengths,
            derive_seed("reversal", corpus_seed, split),
        )  # fmt: skip
        for split in SPLITS
    }
    return build_task(
        cfg, seed=seed, src_dict=dictionary, tgt_dict=dictionary, splits=splits, bpe=None,
        checksums={}, device=device, world=world,
    )  # fmt: skip


def check_data(cfg: DictConfig, *, data_dir: str) -> None:
    """Nothing to find (the pairs are generated): the keys ``build`` refuses before building,
    for a sweep's check before launching."""
    check_corpus_keys(cfg)
    check_keys(cfg)
