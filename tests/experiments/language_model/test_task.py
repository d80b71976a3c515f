"""The language-model task through the contract, in process on tiny corpora: perplexity is the
exponential of an independently computed token-mean loss, the carried hidden state is where the
next window starts (detached), resets happen where the references reset, the plan is exact for
resume, and DDP splits the columns."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from data.token_stream.bptt import random_windows
from experiments.config_checks import ConfigError
from experiments.distributed import SINGLE_PROCESS, World
from experiments.loop import evaluate
from experiments.loop_options import LoopOptions
from experiments.tasks.contract import Evaluation
from tests.experiments.language_model.lm_configs import tiny_task, write_corpora


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpora(tmp_path_factory.mktemp("corpora"))


def ptb_log_probs(model, tokens: np.ndarray) -> torch.Tensor:  # noqa: ANN001
    """log p(token t+1 | tokens ≤ t) over one whole column, straight from the model's layers
    (evaluation mode: every dropout off, weight drop the identity)."""
    x = model.embedding(torch.from_numpy(tokens[:-1])[:, None])
    for rnn in model.rnns:
        x, _ = rnn.lstm(x)
    logp = F.log_softmax(model.decoder(x).reshape(-1, model.decoder.out_features), dim=1)
    return logp.gather(1, torch.from_numpy(tokens[1:])[:, None]).squeeze(1)


def lm1b_log_probs(model, tokens: np.ndarray) -> torch.Tensor:  # noqa: ANN001
    """The same for the adaptive-softmax model, from its full distribution."""
    logp, _ = model.log_prob(torch.from_numpy(tokens[:-1].astype(np.int64))[:, None])
    return logp.gather(1, torch.from_numpy(tokens[1:].astype(np.int64))[:, None]).squeeze(1)


def run_evaluation(task) -> dict[str, float]:  # noqa: ANN001
    task.model.eval()
    with torch.no_grad():
        return evaluate(task, task.model, SINGLE_PROCESS, torch.device("cpu"), LoopOptions(),
                        Evaluation(1, final=True, full=True))  # fmt: skip


def test_ptb_perplexity_is_exp_of_the_token_mean_loss(data_dir: Path) -> None:
    task = tiny_task("ptb_lstm2", data_dir)
    metrics = run_evaluation(task)
    for split in ("val", "test"):
        stream = task.eval_streams[split]
        losses = []
        with torch.no_grad():
            for start, pairs in zip(stream.columns.starts, stream.columns.pairs, strict=True):
                column = np.asarray(stream.tokens[start : start + pairs + 1])
                losses.append(-ptb_log_probs(task.model, column))
        every = torch.cat(losses)
        assert len(every) == int(stream.columns.pairs.sum())
        mean = every.double().mean().item()
        assert metrics[f"{split}/loss"] == pytest.approx(mean, rel=1e-5)
        assert metrics[f"{split}/ppl"] == pytest.approx(math.exp(mean), rel=1e-5)
    assert task.eval_streams["test"].columns.count == 1  # the rerun evaluates test in 1 column


@pytest.mark.parametrize("columns", [1, 3])
def test_lm1b_perplexity_counts_every_target_once(data_dir: Path, columns: int) -> None:
    task = tiny_task("lm1b_lstm", data_dir, f"task.eval_batch_size={columns}")
    metrics = run_evaluation(task)
    stream = task.eval_streams["test"]
    assert int(stream.columns.pairs.sum()) == len(stream.tokens) - 1  # the whole held-out stream
    losses = []
    with torch.no_grad():
        for start, pairs in zip(stream.columns.starts, stream.columns.pairs, strict=True):
            column = np.asarray(stream.tokens[start : start + pairs + 1])
            losses.append(-lm1b_log_probs(task.model, column))
    mean = torch.cat(losses).double().mean().item()
    assert metrics["test/loss"] == pytest.approx(mean, rel=1e-5)
    assert metrics["test/ppl"] == pytest.approx(math.exp(mean), rel=1e-5)


@pytest.mark.parametrize("name", ["ptb_lstm1", "lm1b_lstm"])
def test_the_carried_hidden_state_starts_the_next_window(data_dir: Path, name: str) -> None:
    task = tiny_task(name, data_dir)
    task.model.eval()  # no dropout: the comparison is exact
    batches = task.train_batches(0, 0, SINGLE_PROCESS)
    first, second = next(batches), next(batches)
    assert first.reset and not second.reset and second.columns == (0, task.batch_size)
    task.train_step(task.model, first)
    carried = task.hidden
    assert all(t.grad_fn is None and not t.requires_grad for t in carried), "detached"
    loss, stats = task.train_step(task.model, second)
    both = torch.cat([first.inputs, second.inputs])
    targets = torch.cat([first.targets, second.targets])
    with torch.no_grad():
        if name.startswith("ptb"):
            columns = [np.concatenate([both[:, b].numpy(), targets[-1:, b].numpy()])
                       for b in range(both.shape[1])]  # fmt: skip
            logp = torch.stack([ptb_log_probs(task.model, c) for c in columns], dim=1)
        else:
            logp, _ = task.model.log_prob(both)
            logp = logp.gather(1, targets.reshape(-1, 1)).reshape(targets.shape)
    expected = -logp[len(first.inputs) :].sum()
    torch.testing.assert_close(stats["nll"], expected, rtol=1e-5, atol=1e-5)
    fresh = task.model(second.inputs, second.targets, None, *second.extras)[0]
    assert not torch.isclose(fresh, expected, rtol=1e-6), "the carried state matters"


def test_lm1b_resets_at_each_shard_and_reshuffles_the_shards(data_dir: Path) -> None:
    task = tiny_task("lm1b_lstm", data_dir)
    plan = task.plan
    assert plan.order(0) != plan.order(1) or plan.order(1) != plan.order(2)
    assert plan.order(3) == tiny_task("lm1b_lstm", data_dir).plan.order(3), "drawn from the seed"
    for epoch in (0, 1):
        batches = list(task.train_batches(epoch, 0, SINGLE_PROCESS))
        assert len(batches) == task.micro_batches_per_epoch(epoch, SINGLE_PROCESS)
        resets = [index for index, batch in enumerate(batches) if batch.reset]
        sizes = [plan.windows[shard] for shard in plan.order(epoch)]
        assert resets == list(np.cumsum([0, *sizes[:-1]]))
        tail = list(task.train_batches(epoch, 7, SINGLE_PROCESS))
        assert all(torch.equal(a.inputs, b.inputs) and a.reset == b.reset
                   for a, b in zip(tail, batches[7:], strict=True))  # fmt: skip
    reset = next(b for b in task.train_batches(0, 1, SINGLE_PROCESS) if b.reset)
    task.model.eval()
    task.hidden = tuple(torch.ones_like(t) for t in task.model.lstm(
        torch.zeros(1, task.batch_size, task.model.embedding.embedding_dim))[1])  # fmt: skip
    _, stats = task.train_step(task.model, reset)
    fresh = task.model(reset.inputs, reset.targets, None, *reset.extras)[0]
    torch.testing.assert_close(stats["nll"], fresh)


def test_ptb_windows_and_lr_scale_come_from_the_seed(data_dir: Path) -> None:
    task = tiny_task("ptb_lstm1", data_dir)
    rows = task.plan.columns.rows + 1
    for epoch in (0, 5):
        windows = random_windows(rows, 12, seed=1, epoch=epoch, salt="ptb-bptt")
        batches = list(task.train_batches(epoch, 0, SINGLE_PROCESS))
        assert task.micro_batches_per_epoch(epoch, SINGLE_PROCESS) == len(windows) == len(batches)
        assert [b.lr_scale for b in batches] == [w.drawn / 12 for w in windows]
        assert [len(b.inputs) for b in batches] == [w.length for w in windows]
        assert [b.reset for b in batches] == [True] + [False] * (len(batches) - 1)


def test_ranks_split_the_columns(data_dir: Path) -> None:
    task = tiny_task("ptb_lstm1", data_dir)
    single = list(task.train_batches(2, 0, SINGLE_PROCESS))
    ranks = [list(task.train_batches(2, 0, World(rank, 2))) for rank in (0, 1)]
    for whole, left, right in zip(single, *ranks, strict=True):
        assert left.columns == (0, 2) and right.columns == (2, 4)
        assert torch.equal(torch.cat([left.inputs, right.inputs], dim=1), whole.inputs)
        assert left.units + right.units == whole.units == left.global_units == whole.global_units
        assert left.lr_scale == right.lr_scale == whole.lr_scale
    with pytest.raises(ConfigError, match="task.batch_size=4 is invalid with 3 ranks"):
        tiny_task("ptb_lstm1", data_dir, world=World(0, 3))
