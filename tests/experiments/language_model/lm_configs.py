"""Shared settings of the language-model tests: tiny corpora on disk (tests/data/lm/corpora.py)
and overrides that shrink each recipe's model to seconds on a CPU while keeping its structure
(the adaptive softmax's cutoffs scaled below the tiny vocabulary)."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig

from experiments.distributed import SINGLE_PROCESS, World
from experiments.tasks.language_model import lm1b, ptb
from experiments.tasks.language_model.task import LanguageModelTask
from tests.data.lm.corpora import write_ptb, write_release
from tests.runs_in_process import compose_config

TINY_LM1B = (
    "task.model.embed_dim=16", "task.model.hidden_size=64", "task.model.cutoffs=[8,20,40]",
    "task.batch_size=4", "task.bptt=5", "task.eval_bptt=16",
)  # fmt: skip
"""The vocabulary of the tiny corpus has ≈ 70 words: three tail clusters below it."""
TINY_PTB = ("task.model.embed_dim=16", "task.model.hidden_size=24", "task.batch_size=4",
            "task.bptt=12", "task.val_batch_size=3")  # fmt: skip


def write_corpora(root: Path) -> Path:
    """A data_dir with a tiny r13 release (3 + 3 shards) and tiny PTB files."""
    write_release(root, train_shards=3, heldout_shards=3, per_shard=120)
    write_ptb(root, train=150, valid=30, test=30)
    return root


def composed(*overrides: str) -> DictConfig:
    return compose_config(*overrides)


def tiny_task(
    name: str, data_dir: Path, *overrides: str, seed: int = 1, world: World = SINGLE_PROCESS
) -> LanguageModelTask:
    tiny = TINY_LM1B if name.startswith("lm1b") else TINY_PTB
    cfg = composed(f"task={name}", *tiny, *overrides)
    module = lm1b if name.startswith("lm1b") else ptb
    torch.manual_seed(seed)
    return module.build(
        cfg.task, seed=seed, data_dir=str(data_dir), device=torch.device("cpu"), world=world
    )
