"""One Billion Word with the RAdam paper's LSTM (configs/task/lm1b_lstm.yaml; RAdam §5, Fig. 4).

Data: ``data.lm1b`` (the r13 folders or the hub's parquet copy, ``task.source``), its vocabulary
(words seen more than ``task.threshold`` times) and memory-mapped ids cached once. Training
follows the RAdam code's ``train_1bw.py``: shards reshuffled every epoch, each shard's tail
dropped, the hidden state reset at each shard (``ShardedPlan``). Evaluation
(``task.protocol``): ``radam_code`` tests on the whole held-out folder, without a validation
split; ``benchmark`` tests on ``heldout-00000`` and validates on ``heldout-00001``. The
reference evaluates one stream (``task.eval_batch_size`` = 1 column) in windows of 128 tokens
with the hidden state carried, every target counted. A corpus whose sentence counts differ from
the r13 release's is refused unless ``task.accept_corpus`` (``data.release_check``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from data.lm1b.cache import load_or_build, release_differences
from data.lm1b.files import SOURCES, chosen_folder, find_corpus
from data.lm1b.protocols import PROTOCOLS, evaluation_spans
from data.release_check import accepted, settle
from data.token_stream.columns import Columns
from experiments.distributed import World
from experiments.models.adaptive_softmax import plan_clusters
from experiments.tasks.language_model import recipe_keys
from experiments.tasks.language_model.plans import EvalStream, ShardedPlan
from experiments.tasks.language_model.task import LanguageModelTask

BENCHMARK_VOCABULARY = 793_471
"""The benchmark's standard vocabulary size (Chelba et al. 2013): the synthetic task's."""


def adaptive_extras(cutoffs: Sequence[int]):  # noqa: ANN201 - a host-side closure
    """The adaptive softmax's per-window arguments: its cluster plan and, when the window has
    padding targets, a 0/1 weight per token."""

    def extras(targets: np.ndarray) -> tuple:
        flat = targets.reshape(-1)
        valid = flat >= 0
        weights = None if valid.all() else torch.from_numpy(valid.astype(np.float32))
        return plan_clusters(flat, cutoffs), weights

    return extras


def _task(
    cfg: DictConfig,
    vocabulary: int,
    train: np.ndarray,
    shards: Sequence[tuple[int, int]],
    heldout: np.ndarray,
    spans: Mapping[str, tuple[int, int]],
    seed: int,
    checksums: Mapping[str, str],
    *,
    device: torch.device,
    world: World,
) -> LanguageModelTask:
    batch_size = recipe_keys.positive_int(cfg, "batch_size")
    bptt = recipe_keys.positive_int(cfg, "bptt")
    eval_batch_size = recipe_keys.positive_int(cfg, "eval_batch_size")
    eval_bptt = recipe_keys.positive_int(cfg, "eval_bptt")
    epochs = recipe_keys.positive_int(cfg, "epochs")
    selection = recipe_keys.selection(cfg, tuple(spans))
    recipe_keys.cutoffs(cfg.model.cutoffs, vocabulary, "task.model.cutoffs")
    model = instantiate(cfg.model, vocab_size=vocabulary)
    streams = {
        split: EvalStream(heldout, Columns.all_pairs(offset, length, eval_batch_size), eval_bptt)
        for split, (offset, length) in spans.items()
    }
    return LanguageModelTask(
        model=model,
        plan=ShardedPlan(train, shards, batch_size, bptt, seed),
        eval_streams=streams,
        batch_size=batch_size,
        epochs=epochs,
        headline=cfg.headline,
        selection=selection,
        extras=adaptive_extras(model.cutoffs),
        checksums=checksums,
        device=device,
        world=world,
    )


def check_keys(cfg: DictConfig) -> None:
    """The recipe's and the model's keys (``ConfigError``, one line), before any data is read."""
    for key in ("batch_size", "bptt", "eval_batch_size", "eval_bptt", "epochs", "threshold"):
        recipe_keys.positive_int(cfg, key)
    for key in ("layers", "embed_dim", "hidden_size"):
        recipe_keys.positive_int(cfg, f"model.{key}")
    recipe_keys.probabilities(cfg, ["model.dropout"])
    recipe_keys.choice(cfg, "protocol", PROTOCOLS)
    recipe_keys.choice(cfg, "source", SOURCES)
    accepted(cfg.get("accept_corpus"))


def build(
    cfg: DictConfig, *, seed: int, data_dir: str, device: torch.device, world: World
) -> LanguageModelTask:
    check_keys(cfg)
    protocol = recipe_keys.choice(cfg, "protocol", PROTOCOLS)
    source = recipe_keys.choice(cfg, "source", SOURCES)
    found = find_corpus(data_dir, source)
    corpus = load_or_build(found, data_dir, cfg.threshold)
    what = f"One Billion Word ({corpus.source}) in {found.root}"
    differs = settle("lm1b", what, "the r13 release", release_differences(corpus),
                     accept=accepted(cfg.get("accept_corpus")))  # fmt: skip
    spans = evaluation_spans(corpus, protocol)
    shards = [(span.offset, span.length) for span in corpus.train_shards]
    return _task(
        cfg, len(corpus.vocabulary), corpus.train, shards, corpus.heldout, spans, seed,
        {**corpus.checksums, **differs}, device=device, world=world,
    )  # fmt: skip


def check_data(cfg: DictConfig, *, data_dir: str) -> None:
    """DataUnavailable, as ``build`` would raise it, when the folder of ``task.source`` is
    missing (its shards are listed by ``build``), and the keys ``build`` refuses before reading
    it."""
    check_keys(cfg)
    chosen_folder(data_dir, recipe_keys.choice(cfg, "source", SOURCES))


def zipf_tokens(count: int, vocabulary: int, generator: np.random.Generator) -> np.ndarray:
    """``count`` ids with P(id) ∝ 1/(id + 1) over ``vocabulary`` words (word frequencies are
    roughly Zipfian, so the adaptive softmax's clusters see realistic traffic)."""
    ranks = np.exp(generator.random(count) * np.log(vocabulary + 1.0)) - 1.0
    return np.minimum(ranks.astype(np.int64), vocabulary - 1).astype(np.int32)


def synthetic(
    cfg: DictConfig, *, seed: int, data_dir: str, device: torch.device, world: World
) -> LanguageModelTask:
    """The recipe at the benchmark's vocabulary on a synthetic Zipfian token stream: two shards
    of 64 windows and a short test stream (for ``scripts.bench_train``; nothing is read)."""
    check_keys(cfg)
    generator = np.random.default_rng(seed)
    per_shard = cfg.batch_size * cfg.bptt * 64 + 1
    train = zipf_tokens(2 * per_shard, BENCHMARK_VOCABULARY, generator)
    heldout = zipf_tokens(8 * cfg.eval_bptt + 1, BENCHMARK_VOCABULARY, generator)
    shards = [(0, per_shard), (per_shard, per_shard)]
    spans = {"test": (0, len(heldout))}
    return _task(
        cfg, BENCHMARK_VOCABULARY, train, shards, heldout, spans, seed, {}, device=device,
        world=world,
    )  # fmt: skip
