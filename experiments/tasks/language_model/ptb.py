"""Penn Treebank with the AdaBelief repository's AWD-LSTM rerun of the AdaBound paper
(configs/task/ptb_lstm{1,2,3}.yaml).

Training as that code's ``main.py``: the training ids ``batchify``'d into ``task.batch_size``
columns, AWD-LSTM's random BPTT windows (N(70, 5), half length with probability 0.05, lr scaled
by drawn length / 70) drawn per epoch from the seed, the hidden state reset at each epoch's
start (``RandomBpttPlan``). Evaluation: ``val`` in 10 columns and ``test`` in 1, in windows of
``task.bptt`` rows, as its ``evaluate``. ``task.selection`` is the protocol: ``test/ppl`` (the
rerun's: its "valid" pass reads the test set, and the reported number is the test perplexity of
the checkpoint with the best test perplexity) or ``val/ppl`` (a proper validation-selected one).
Files whose counts differ from Mikolov's release are refused unless ``task.accept_corpus``
(``data.release_check``).
"""

from __future__ import annotations

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from data.ptb.files import (
    RELEASE_TOKENS,
    RELEASE_VOCABULARY,
    find_folder,
    load_ptb,
    release_differences,
)
from data.release_check import accepted, settle
from data.token_stream.columns import Columns
from experiments.distributed import World
from experiments.models.awd_lstm import HIDDEN_WEIGHTS
from experiments.tasks.language_model import recipe_keys
from experiments.tasks.language_model.lm1b import zipf_tokens
from experiments.tasks.language_model.plans import EvalStream, RandomBpttPlan
from experiments.tasks.language_model.task import LanguageModelTask

SPLITS = ("val", "test")


def _task(cfg: DictConfig, vocabulary: int, ids: dict[str, np.ndarray], seed: int,
          checksums: dict[str, str], *, device: torch.device,
          world: World) -> LanguageModelTask:  # fmt: skip
    batch_size = recipe_keys.positive_int(cfg, "batch_size")
    bptt = recipe_keys.positive_int(cfg, "bptt")
    epochs = recipe_keys.positive_int(cfg, "epochs")
    columns = {
        "val": (ids["valid"], recipe_keys.positive_int(cfg, "val_batch_size")),
        "test": (ids["test"], recipe_keys.positive_int(cfg, "test_batch_size")),
    }
    selection = recipe_keys.selection(cfg, SPLITS)
    streams = {
        split: EvalStream(tokens, Columns.batchified(0, len(tokens), count), bptt)
        for split, (tokens, count) in columns.items()
    }
    return LanguageModelTask(
        model=instantiate(cfg.model, vocab_size=vocabulary),
        plan=RandomBpttPlan(ids["train"], batch_size, bptt, seed),
        eval_streams=streams,
        batch_size=batch_size,
        epochs=epochs,
        headline=cfg.headline,
        selection=selection,
        checksums=checksums,
        device=device,
        world=world,
    )


DROPOUTS = ("dropout", "dropout_hidden", "dropout_input", "dropout_embedding")
"""AWD-LSTM's dropout rates: each scales what it keeps by 1 / (1 − p), so p = 1 is refused."""


def check_keys(cfg: DictConfig) -> None:
    """The recipe's and the model's keys (``ConfigError``, one line), before any data is read."""
    for key in ("batch_size", "bptt", "val_batch_size", "test_batch_size", "epochs"):
        recipe_keys.positive_int(cfg, key)
    recipe_keys.selection(cfg, SPLITS)
    recipe_keys.positive_int(cfg, "model.layers")
    for key in ("embed_dim", "hidden_size"):
        recipe_keys.positive_int(cfg, f"model.{key}")
    dropouts = [f"model.{key}" for key in DROPOUTS]
    recipe_keys.probabilities(cfg, [*dropouts, "model.weight_drop"], below_one=dropouts)
    recipe_keys.choice(cfg, "model.hidden_weights", HIDDEN_WEIGHTS)
    recipe_keys.non_negatives(cfg, ["model.ar_alpha", "model.tar_beta"])
    accepted(cfg.get("accept_corpus"))


def build(
    cfg: DictConfig, *, seed: int, data_dir: str, device: torch.device, world: World
) -> LanguageModelTask:
    check_keys(cfg)
    ptb = load_ptb(data_dir)
    what = f"Penn Treebank in {ptb.folder}"
    differs = settle("ptb", what, "Mikolov's release (simple-examples)", release_differences(ptb),
                     accept=accepted(cfg.get("accept_corpus")))  # fmt: skip
    checksums = {**ptb.checksums, **differs}
    return _task(cfg, len(ptb.vocabulary), ptb.ids, seed, checksums, device=device, world=world)


def check_data(cfg: DictConfig, *, data_dir: str) -> None:
    """DataUnavailable, as ``build`` would raise it, when a PTB text file is missing (and the
    keys ``build`` refuses before reading it)."""
    check_keys(cfg)
    find_folder(data_dir)


def synthetic(
    cfg: DictConfig, *, seed: int, data_dir: str, device: torch.device, world: World
) -> LanguageModelTask:
    """The recipe on synthetic Zipfian streams of PTB's vocabulary and split sizes (for
    ``scripts.bench_train``; nothing is read)."""
    check_keys(cfg)
    generator = np.random.default_rng(seed)
    ids = {
        split: zipf_tokens(count, RELEASE_VOCABULARY, generator).astype(np.int64)
        for split, count in RELEASE_TOKENS.items()
    }
    return _task(cfg, RELEASE_VOCABULARY, ids, seed, {}, device=device, world=world)
