"""The trial's three corpora: where each keeps its raw files and its cache, and the tiny run that
trains on it (a few updates of a small model, with a checkpoint every 4 updates so that a kill
after update 5 leaves one to resume from).

The corpora are ``data.sample_corpora``'s, which are not the published releases: the runs pass
``ACCEPT_CORPUS`` (the key that accepts a deliberately different or partial corpus)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from data import sample_corpora

ACCEPT_CORPUS = "task.accept_corpus=true"
"""The override that lets the tiny corpora through the release checks."""

COMMON = ("optimizer=adam", "max_steps=8", "log_every=1", "checkpoint_every=4", "device=cpu",
          "deterministic=true")  # fmt: skip


@dataclass(frozen=True)
class TinyCorpus:
    """One corpus of the trial. Paths are relative to ``data_dir``."""

    name: str
    write: Callable[[Path], object]
    overrides: tuple[str, ...]
    raw_folder: str
    cache_folder: str | None
    """The cache's folder (its members are the files in it), or None: read from the text."""
    evaluation_files: tuple[str, ...]
    """The files of one evaluation split (emptied together by the ``empty-eval`` case)."""
    train_file: str
    """The training file the ``kill-replace`` case replaces between a kill and the resume."""

    def raw_files(self, data_dir: Path) -> list[str]:
        return _files_under(data_dir, self.raw_folder)

    def cache_members(self, data_dir: Path) -> list[str]:
        """The cache's files as its build left them (not the verification stamp)."""
        if self.cache_folder is None:
            return []
        members = _files_under(data_dir, self.cache_folder)
        return [name for name in members if not name.endswith("verified.json")]

    def run(self, data_dir: Path, runs_dir: Path) -> list[str]:
        """The tiny run's overrides."""
        return [*self.overrides, *COMMON, ACCEPT_CORPUS, f"data_dir={data_dir}",
                f"runs_dir={runs_dir}"]  # fmt: skip


def _files_under(data_dir: Path, folder: str) -> list[str]:
    root = data_dir / folder
    return sorted(str(path.relative_to(data_dir)) for path in root.rglob("*") if path.is_file())


LM1B_HELDOUT = f"{sample_corpora.RELEASE}/{sample_corpora.HELDOUT}"
CORPORA = {
    "ptb": TinyCorpus(
        name="ptb",
        write=lambda data_dir: sample_corpora.write_ptb(data_dir, train=150, valid=30, test=30),
        overrides=(
            "task=ptb_lstm1",
            "task.model.embed_dim=16",
            "task.model.hidden_size=24",
            "task.batch_size=4",
            "task.bptt=12",
            "task.val_batch_size=3",
        ),  # fmt: skip
        raw_folder="ptb",
        cache_folder=None,
        evaluation_files=("ptb/ptb.valid.txt",),
        train_file="ptb/ptb.train.txt",
    ),
    "lm1b": TinyCorpus(
        name="lm1b",
        write=lambda data_dir: sample_corpora.write_release(data_dir, 2, 2, per_shard=120),
        overrides=(
            "task=lm1b_lstm",
            "task.model.embed_dim=16",
            "task.model.hidden_size=64",
            "task.model.cutoffs=[8,20,40]",
            "task.batch_size=4",
            "task.bptt=5",
            "task.eval_bptt=16",
        ),  # fmt: skip
        raw_folder=sample_corpora.RELEASE,
        cache_folder="lm1b-cache/r13-threshold3",
        evaluation_files=(
            f"{LM1B_HELDOUT}/news.en.heldout-00000-of-00050",
            f"{LM1B_HELDOUT}/news.en.heldout-00001-of-00050",
        ),
        train_file=f"{sample_corpora.RELEASE}/{sample_corpora.TRAIN}/news.en-00001-of-00100",
    ),
    "iwslt14": TinyCorpus(
        name="iwslt14",
        write=sample_corpora.write_iwslt14,
        overrides=(
            "task=iwslt14_de_en",
            "schedule=constant",
            "task.model._target_=experiments.models.transformer.TransformerModel",
            "+task.model.embed_dim=16",
            "+task.model.ffn_dim=32",
            "+task.model.heads=2",
            "+task.model.encoder_layers=1",
            "+task.model.decoder_layers=1",
            "task.max_updates=null",
            "task.epochs=1",
            "task.max_tokens=96",
            "task.average=null",
            "task.generation.final.max_len_b=4",
        ),
        raw_folder="iwslt14/iwslt14.tokenized.de-en",
        cache_folder="iwslt14/data-bin/iwslt14.tokenized.de-en",
        evaluation_files=(
            "iwslt14/iwslt14.tokenized.de-en/valid.de",
            "iwslt14/iwslt14.tokenized.de-en/valid.en",
        ),
        train_file="iwslt14/iwslt14.tokenized.de-en/train.de",
    ),
}
