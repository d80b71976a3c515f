"""Shared settings of the language-model tests: tiny corpora on disk (data/sample_corpora.py)
and overrides that shrink each recipe's model to seconds on a CPU while keeping its structure
(the adaptive softmax's cutoffs scaled below the tiny vocabulary)."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig

from data.sample_corpora import write_ptb, write_release
from experiments.distributed import SINGLE_PROCESS, World
from experiments.tasks.language_model import lm1b, ptb
from experiments.tasks.language_model.task import LanguageModelTask
from tests.runs_in_process import compose_config

TINY_LM1B = (
    "task.model.embed_dim=16", "task.model.hidden_size=64", "task.model.cutoffs=[8,20,40]",
    "task.batch_size=4", "task.bptt=5", "task.eval_bptt=16", "task.accept_corpus=true",
)  # fmt: skip
"""The vocabulary of the tiny corpus has ≈ 70 words: three tail clusters below it. The tiny
corpora are not the releases: ``task.accept_corpus=true``."""
TINY_PTB = ("task.model.embed_dim=16", "task.model.hidden_size=24", "task.batch_size=4",
            "task.bptt=12", "task.val_batch_size=3", "task.accept_corpus=true")  # fmt: skip
"""The smoke sizes' model and batch keys (configs/task/smoke/) without their two-epoch budget:
for runs that keep the recipe's epochs and milestones, and for sweeps over the recipes (whose
master config is the default task's, so they set keys with ``++``, not ``task/size=smoke``)."""
SMOKE_SIZE = "task/size=smoke"


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
    cfg = composed(f"task={name}", SMOKE_SIZE, *overrides)
    module = lm1b if name.startswith("lm1b") else ptb
    torch.manual_seed(seed)
    return module.build(
        cfg.task, seed=seed, data_dir=str(data_dir), device=torch.device("cpu"), world=world
    )
