"""The offline benchmark's synthetic sequence tasks (configs/task/markov_lm.yaml and
configs/task/reverse_translation.yaml): their corpora are functions of ``task.corpus_seed``
alone, the language model's known optimum is logged, and short runs learn (the full budgets
reach the recipes' targets: marked slow)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from data.markov_chain import entropy_rate, random_chain
from data.seeding import derive_seed
from experiments.config_checks import ConfigError
from experiments.distributed import SINGLE_PROCESS
from experiments.tasks.contract import Evaluation
from experiments.tasks.language_model import markov
from experiments.tasks.translation import reversal
from tests.experiments.cli import read_metrics, read_summary
from tests.runs_in_process import compose_config, run_in_process

CPU = torch.device("cpu")


def built(task: str, seed: int, *overrides: str):  # noqa: ANN201 - either task class
    cfg = compose_config(f"task={task}", *overrides).task
    module = markov if task == "markov_lm" else reversal
    return module.build(cfg, seed=seed, data_dir="unused", device=CPU, world=SINGLE_PROCESS)


def test_markov_corpus_is_shared_by_runs_of_different_seeds() -> None:
    first, second = built("markov_lm", 1), built("markov_lm", 2)
    assert np.array_equal(first.plan.tokens, second.plan.tokens)
    for split in ("val", "test"):
        assert np.array_equal(first.eval_streams[split].tokens, second.eval_streams[split].tokens)
    other = built("markov_lm", 1, "task.corpus_seed=1")
    assert not np.array_equal(first.plan.tokens, other.plan.tokens)


def test_markov_task_logs_its_known_optimum() -> None:
    task = built("markov_lm", 1)
    cfg = compose_config("task=markov_lm").task
    chain = random_chain(16, 2, 3, 0.5, 0.02, derive_seed("markov-chain", 0))
    assert (cfg.corpus.vocabulary, cfg.corpus.order, cfg.corpus.successors) == (16, 2, 3)
    optimum = math.exp(entropy_rate(chain))
    metrics = task.eval_metrics(
        "val", {"nll": 10.0, "tokens": 5.0}, Evaluation(1, final=False, full=False)
    )
    assert metrics["val/ppl"] == pytest.approx(math.exp(2.0))
    assert metrics["val/ppl_optimum"] == pytest.approx(optimum, rel=0.02)
    assert cfg.target.value == pytest.approx(1.2 * optimum, abs=0.01)


def test_reversal_pairs_are_shared_by_runs_and_reverse_their_source() -> None:
    first, second = built("reverse_translation", 1), built("reverse_translation", 2)
    for split in ("train", "val"):
        mine = first.train if split == "train" else first.eval_sources[split]
        theirs = second.train if split == "train" else second.eval_sources[split]
        assert np.array_equal(mine.source.tokens, theirs.source.tokens)
    pairs = reversal.reversal_pairs(first.src_dict, 10, 50, (2, 6), seed=3)
    eos = first.src_dict.eos()
    for source, target in zip(pairs[0], pairs[1], strict=True):
        assert source[-1] == target[-1] == eos and 3 <= len(source) <= 7
        assert source[:-1].tolist() == target[-2::-1].tolist()
        assert (source[:-1] >= first.src_dict.nspecial).all()


@pytest.mark.parametrize(
    ("task", "count"), [("markov_lm", 22_288), ("reverse_translation", 21_824)]
)
def test_models_have_the_documented_parameter_counts(task: str, count: int) -> None:
    """The counts the recipes' headers and the README give."""
    assert sum(p.numel() for p in built(task, 1).model.parameters()) == count


@pytest.mark.parametrize(
    ("task", "override", "message"),
    [
        ("reverse_translation", "task.corpus.max_length=1", "task.corpus.max_length=1 is invalid"),
        ("markov_lm", "task.corpus.successors=20", "task.corpus.successors=20 is invalid"),
        ("markov_lm", "task.corpus.floor=0", "task.corpus.floor=0 is invalid"),
        ("markov_lm", "task.corpus.order=0", "task.corpus.order=0 is invalid"),
    ],
)
def test_bad_corpus_settings_are_refused_in_one_line(
    task: str, override: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as refused:
        built(task, 1, override)
    assert "\n" not in str(refused.value)


def run(tmp_path: Path, task: str, *overrides: str) -> Path:
    done = run_in_process(
        tmp_path / "runs", [f"task={task}", "optimizer=adam", "device=cpu", *overrides]
    )
    assert done.returncode == 0 and done.run_dir is not None
    return done.run_dir


def validation(run_dir: Path, metric: str) -> list[float]:
    return [event[metric] for event in read_metrics(run_dir) if metric in event]


def test_short_runs_learn(tmp_path: Path) -> None:
    """Two epochs of the LSTM cut the validation perplexity well below the unigram level (the
    chain's 16 tokens); one epoch of the Transformer lowers the validation loss."""
    lm = validation(run(tmp_path / "lm", "markov_lm", "max_steps=96"), "val/ppl")
    assert len(lm) == 2 and lm[-1] < lm[0] < 16 and lm[-1] < 4.5
    mt = validation(
        run(tmp_path / "mt", "reverse_translation", "max_steps=138", "task.full_eval_every=null"),
        "val/loss",
    )
    assert len(mt) == 2 and mt[1] < mt[0] - 0.2


@pytest.mark.slow
@pytest.mark.parametrize("task", ["markov_lm", "reverse_translation"])
def test_full_budget_reaches_the_target(tmp_path: Path, task: str) -> None:
    summary = read_summary(run(tmp_path, task))
    assert summary["status"] == "finished"
    assert summary["target"]["reached"] is True, summary["target"]
