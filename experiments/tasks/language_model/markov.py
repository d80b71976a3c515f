"""A language model on a synthetic Markov-chain corpus with a known optimum
(configs/task/markov_lm.yaml): an offline sequence task for the optimizer benchmark.

The corpus (``data.markov_chain``) is a pure function of ``task.corpus_seed``, not of the run's
seed, so every run of the task trains and is evaluated on the same streams. Its entropy rate H
gives the best achievable perplexity exp(H); each evaluation also records
``<split>/ppl_optimum``, the true chain's perplexity on that split's stream (the realised
optimum of a finite split; within 1 % of exp(H) at the default sizes).

Training reuses the word-level task unchanged: the training stream laid out in
``task.batch_size`` columns and read in fixed windows of ``task.bptt`` rows with the hidden state
carried (one shard of ``ShardedPlan``, reset at each epoch's start); ``val`` and ``test`` are
read as one-shard streams in ``task.eval_batch_size`` columns (``EvalStream``). The model is the
suite's ``AWDLSTM`` at a small size with its regularisers off.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from data.markov_chain import entropy_rate, oracle_loss, random_chain, sample
from data.seeding import derive_seed
from data.token_stream.columns import Columns
from experiments.config_checks import ConfigError
from experiments.distributed import World
from experiments.models.awd_lstm import HIDDEN_WEIGHTS
from experiments.tasks.language_model import recipe_keys
from experiments.tasks.language_model.plans import EvalStream, ShardedPlan
from experiments.tasks.language_model.ptb import DROPOUTS
from experiments.tasks.language_model.task import LanguageModelTask

SPLITS = {"train": "train_tokens", "val": "val_tokens", "test": "test_tokens"}
"""The suite's split names and the ``task.corpus`` key giving each split's length."""
CHAIN_KEYS = ("vocabulary", "order", "successors")


def check_keys(cfg: DictConfig) -> None:
    """The recipe's, the corpus's and the model's keys (``ConfigError``, one line)."""
    for key in ("batch_size", "bptt", "eval_batch_size", "epochs", "model.layers",
                "model.embed_dim", "model.hidden_size"):  # fmt: skip
        recipe_keys.positive_int(cfg, key)
    for key in (*CHAIN_KEYS, *SPLITS.values()):
        recipe_keys.positive_int(cfg, f"corpus.{key}")
    recipe_keys.probabilities(cfg, ["corpus.floor"])
    recipe_keys.non_negatives(cfg, ["corpus_seed", "corpus.concentration"])
    spec = cfg.corpus
    if spec.successors > spec.vocabulary:
        raise ConfigError(
            f"task.corpus.successors={spec.successors} is invalid: at most "
            f"task.corpus.vocabulary={spec.vocabulary}"
        )
    for key in ("floor", "concentration"):
        if not 0 < spec[key] < (1 if key == "floor" else math.inf):
            allowed = "in (0, 1)" if key == "floor" else "a number > 0"
            raise ConfigError(f"task.corpus.{key}={spec[key]!r} is invalid: {allowed}")
    recipe_keys.selection(cfg, ("val", "test"))
    dropouts = [f"model.{key}" for key in DROPOUTS]
    recipe_keys.probabilities(cfg, [*dropouts, "model.weight_drop"], below_one=dropouts)
    recipe_keys.choice(cfg, "model.hidden_weights", HIDDEN_WEIGHTS)


def markov_corpus(cfg: DictConfig) -> tuple[dict[str, np.ndarray], dict[str, float], float]:
    """The splits' token streams, the true chain's mean loss on each (nats) and the chain's
    entropy rate H, all from ``task.corpus_seed``."""
    spec, corpus_seed = cfg.corpus, int(cfg.corpus_seed)
    chain = random_chain(
        int(spec.vocabulary), int(spec.order), int(spec.successors),
        float(spec.concentration), float(spec.floor), derive_seed("markov-chain", corpus_seed),
    )  # fmt: skip
    streams = {
        split: sample(chain, int(spec[key]), derive_seed("markov-stream", corpus_seed, split))
        for split, key in SPLITS.items()
    }
    optimum = {split: oracle_loss(chain, tokens) for split, tokens in streams.items()}
    return streams, optimum, entropy_rate(chain)


def build(
    cfg: DictConfig, *, seed: int, data_dir: str, device: torch.device, world: World
) -> LanguageModelTask:
    """The task (``data_dir`` is unused: nothing is read)."""
    check_keys(cfg)
    streams, optimum, entropy = markov_corpus(cfg)
    if world.is_main:
        print(
            f"markov corpus: entropy rate {entropy:.4f} nats, best achievable perplexity "
            f"{math.exp(entropy):.3f} (val {math.exp(optimum['val']):.3f}, "
            f"test {math.exp(optimum['test']):.3f})",
            flush=True,
        )
    eval_columns = recipe_keys.positive_int(cfg, "eval_batch_size")
    bptt = recipe_keys.positive_int(cfg, "bptt")
    batch_size = recipe_keys.positive_int(cfg, "batch_size")
    train = streams["train"]
    return LanguageModelTask(
        model=instantiate(cfg.model, vocab_size=int(cfg.corpus.vocabulary)),
        plan=ShardedPlan(train, [(0, len(train))], batch_size, bptt, seed),
        eval_streams={
            split: EvalStream(
                streams[split], Columns.batchified(0, len(streams[split]), eval_columns), bptt
            )
            for split in ("val", "test")
        },
        batch_size=batch_size,
        epochs=recipe_keys.positive_int(cfg, "epochs"),
        headline=cfg.headline,
        selection=recipe_keys.selection(cfg, ("val", "test")),
        optimum={split: optimum[split] for split in ("val", "test")},
        device=device,
        world=world,
    )


def check_data(cfg: DictConfig, *, data_dir: str) -> None:
    """Nothing to find (the corpus is generated): the keys ``build`` refuses, for a sweep's
    check before launching."""
    check_keys(cfg)
