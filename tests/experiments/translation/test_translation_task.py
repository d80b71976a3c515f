"""The translation task built from tiny corpora in the real on-disk formats: its token-budget
batches and their sharding, its metrics, the BLEU pipeline against sacrebleu and a hand count,
and each bad input refused with one line (``ConfigError`` / ``DataUnavailable``)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path

import pytest
import sacrebleu
import torch
from omegaconf import DictConfig

from data import DataError, DataUnavailable
from data.sample_corpora import write_iwslt14
from data.translation.text import detokenize
from experiments.config_checks import ConfigError
from experiments.distributed import World
from experiments.loop_state import LoopState
from experiments.tasks.contract import Evaluation
from experiments.tasks.translation.beam_search import Hypothesis
from experiments.tasks.translation.scoring import add_into, bleu_statistics
from experiments.tasks.translation.task import build, synthetic
from tests.runs_in_process import compose_config

TINY_MODEL = (
    "task.model._target_=experiments.models.transformer.TransformerModel",
    "+task.model.embed_dim=16",
    "+task.model.ffn_dim=32",
    "+task.model.heads=2",
    "+task.model.encoder_layers=1",
    "+task.model.decoder_layers=1",
    "task.accept_corpus=true",  # the tiny corpora are not the releases
)
CPU = torch.device("cpu")
FINAL = Evaluation(number=1, final=True, full=True)
REFUSED = (ConfigError, DataError)
"""A bad recipe key (the task) or bad data setting (the data layer; the builder of
``experiments.assembly`` turns it into a ``ConfigError``)."""


def task_config(*overrides: str) -> DictConfig:
    return compose_config("task=iwslt14_de_en", *TINY_MODEL, *overrides).task


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_iwslt14(root, longest=12)
    return root


def make(data_dir: Path, *overrides: str, seed: int = 1):
    cfg = task_config(*overrides)
    return build(cfg, seed=seed, data_dir=str(data_dir), device=CPU, world=World())


def test_batches_respect_the_token_budget_and_cover_the_epoch(data_dir: Path) -> None:
    task = make(data_dir, "task.max_tokens=64")
    world = World()
    batches = list(task.train_batches(0, 0, world))
    assert len(batches) == task.micro_batches_per_epoch(0, world) > 4
    seen = []
    for batch in batches:
        assert batch.src_tokens.numel() <= 64 and batch.target.numel() <= 64  # padded lengths
        assert batch.units == int(batch.target.ne(1).sum()) == batch.global_units
        assert torch.all(batch.prev_output_tokens[:, 0] == 2)  # decoder input starts with </s>
        assert torch.all(batch.src_tokens[:, -1] == 2)  # left-padded: </s> ends every row
        seen.append(batch.target)
    assert sum(t.size(0) for t in seen) == 96  # every training pair once
    again = [b.target for b in make(data_dir, "task.max_tokens=64").train_batches(0, 0, world)]
    assert all(torch.equal(a, b) for a, b in zip(seen, again, strict=True))  # seeded
    second = [b.target for b in task.train_batches(1, 0, world)]
    assert not all(torch.equal(a, b) for a, b in zip(seen, second, strict=False))  # reshuffled
    resumed = [b.target for b in task.train_batches(0, 3, world)]
    assert all(torch.equal(a, b) for a, b in zip(seen[3:], resumed, strict=True))


def test_ranks_take_whole_buckets_and_know_each_others_units(data_dir: Path) -> None:
    task = make(data_dir, "task.max_tokens=64")
    single = list(task.train_batches(0, 0, World()))
    ranks = [list(task.train_batches(0, 0, World(rank, 2, rank))) for rank in (0, 1)]
    per_epoch = task.micro_batches_per_epoch(0, World(0, 2, 0))
    assert per_epoch == len(ranks[0]) == math.ceil(len(single) / 2)
    for step, pair in enumerate(zip(*ranks, strict=True)):
        mine = single[2 * step : 2 * step + 2]
        assert [b.global_units for b in pair] == [sum(b.units for b in mine)] * 2
        for batch, expected in zip(pair, mine, strict=False):
            assert torch.equal(batch.target, expected.target)
    if len(single) % 2:  # the last step has no bucket for rank 1: a zero-unit batch
        assert ranks[1][-1].units == 0 and ranks[1][-1].target.tolist() == [[1]]


def test_metrics_are_logged_in_nats_bits_and_perplexity(data_dir: Path) -> None:
    task = make(data_dir)
    logged = task.train_metrics({"loss": 2.0, "nll": 1.5})
    assert logged["train/base2/loss"] == pytest.approx(2.0 / math.log(2))
    assert logged["train/ppl"] == pytest.approx(math.exp(1.5)) == 2 ** logged["train/base2/nll"]
    state = LoopState()  # the loop hands the windows since the last evaluation to the next one
    state.add_window({"loss": 2.0, "nll": 1.5})
    state.add_window({"loss": 2.0, "nll": 2.5})
    since = Evaluation(1, final=True, full=True, trained=state.trained_means())
    totals = {"loss": 30.0, "nll": 20.0, "ntokens": 10}
    metrics = task.eval_metrics("val", totals, since)
    assert metrics["val/loss"] == 3.0 and metrics["val/ppl"] == pytest.approx(math.exp(2.0))
    assert metrics["train/ppl"] == pytest.approx(math.exp(2.0))  # the mean of the two windows
    assert task.eval_metrics("val", totals, since) == metrics  # reading metrics changes nothing
    assert "train/ppl" not in task.eval_metrics("test", totals, since)
    state.record_evaluation(metrics, "val/ppl", 1.0)
    assert state.trained_means() == {}
    assert "train/ppl" not in task.eval_metrics("val", {"ntokens": 1}, FINAL)
    assert task.headline == "avg/test/bleu" and task.unit == "tokens"
    assert make(data_dir, "task.average=null").headline == "test/bleu"


def hypothesis(ids: list[int]) -> list[Hypothesis]:
    return [Hypothesis(torch.tensor([*ids, 2]), 0.0, torch.zeros(len(ids) + 1))]


def test_bleu_pipeline_equals_sacrebleu_and_a_hand_count(data_dir: Path) -> None:
    task = make(data_dir)
    words = task.tgt_dict
    encode = lambda line: words.encode_line(line)  # noqa: E731
    references = ["the cat is good", "we beau@@ tiful dog", "you and i"]
    outputs = ["the cat is not good", "we beau@@ tiful dog", "i and you"]
    totals: dict[str, float] = {}
    for batch in ([0, 1], [2]):  # two batches, summed as the loop sums them
        stats = bleu_statistics(
            [hypothesis(encode(outputs[i])[:-1].tolist()) for i in batch],
            [encode(references[i]) for i in batch], words, "@@ ", "en",
        )  # fmt: skip
        add_into(totals, stats)
    metrics = task.eval_metrics("test", {**totals, "ntokens": 1.0}, FINAL)
    # By hand, after BPE removal (sys 5 + 3 + 3 = 11 words, ref 4 + 3 + 3 = 10):
    # 1-grams 4 + 3 + 3 = 10 of 11; 2-grams 2 + 2 + 0 = 4 of 8; 3-grams 1 + 1 = 2 of 5;
    # 4-grams 0 + 0 ... of 2 → p4 = 0, so fairseq's unsmoothed BLEU-4 is 0. The 3-gram corpus:
    assert metrics["test/bleu"] == 0.0
    hyps = [line.replace("@@ ", "") for line in outputs]
    refs = [line.replace("@@ ", "") for line in references]
    expected = sacrebleu.corpus_bleu([detokenize(h, "en") for h in hyps],
                                     [[detokenize(r, "en") for r in refs]])  # fmt: skip
    assert metrics["test/sacrebleu"] == pytest.approx(expected.score, abs=1e-9)
    # A corpus with 4-gram matches: BP · exp(mean log p_n) · 100, counted by hand.
    long = "the cat is good and the dog is good"
    stats = bleu_statistics([hypothesis(encode(long)[:-1].tolist())],
                            [encode(long + " too")], words, "@@ ", "en")  # fmt: skip
    # p1 = 9/9, p2 = 8/8, p3 = 7/7, p4 = 6/6; BP = exp(1 − 10/9)
    got = task.eval_metrics("test", {**stats, "ntokens": 1.0}, FINAL)["test/bleu"]
    assert got == pytest.approx(100 * math.exp(1 - 10 / 9), rel=1e-12)


def test_evaluation_decodes_with_final_or_validation_lengths(data_dir: Path) -> None:
    task = make(data_dir, "task.full_eval_every=2")
    assert task.full_eval_every == 2
    assert task.generation["final"].max_len_a == 0 and task.generation["final"].max_len_b == 200
    assert task.generation["validation"].max_len_a == 1.2
    assert task.generation["validation"].max_len_b == 10
    batch = next(task.eval_batches("val", World()))
    quick = Evaluation(number=1, final=False, full=False)
    assert set(task.eval_step(task.model.eval(), batch, quick)) == {"loss", "nll", "ntokens"}
    full = task.eval_step(task.model, batch, Evaluation(2, final=False, full=True))
    assert full["sentences"] == batch.src_tokens.size(0) and "bleu_match_1" in full


def test_bad_inputs_are_one_line_errors(data_dir: Path, caplog) -> None:
    cases = {
        "task.generation.beam=0": "task.generation.beam=0 is invalid: an integer >= 1",
        "task.source_lang=fr": "language pair 'fr'-'en' is unknown for iwslt14",
        "task.label_smoothing_form=v2020": "label_smoothing_form='v2020' is invalid",
        "task.model.share_all_embeddings=true": "needs one joint dictionary",
    }
    for override, message in cases.items():
        with pytest.raises(REFUSED, match=message.replace("(", r"\(")) as raised:
            make(data_dir, override)
        assert "\n" not in str(raised.value)
    with pytest.raises(DataError, match=r"sentence pair \d+ has \d+ source and \d+ target") as e:
        make(data_dir, "task.max_tokens=8", "task.long_pairs=raise")
    assert "max_tokens=8" in str(e.value)
    with caplog.at_level(logging.WARNING):
        task = make(data_dir, "task.max_tokens=8", "task.eval_max_tokens=64")
    assert task.train.skipped > 0
    assert f"{task.train.skipped} train sentence pairs are longer than 8 tokens" in caplog.text
    with pytest.raises(DataUnavailable) as missing:
        make(data_dir / "elsewhere")
    assert "iwslt14.tokenized.de-en" in str(missing.value)
    assert "python -m scripts.download_data iwslt14" in str(missing.value)


def test_a_dictionary_that_does_not_match_the_binarized_data_is_refused(tmp_path: Path) -> None:
    write_iwslt14(tmp_path)
    make(tmp_path)  # binarizes the text once
    (dictionary,) = (tmp_path / "iwslt14" / "data-bin").rglob("dict.en.txt")
    dictionary.write_text(dictionary.read_text().replace("cat", "cow", 1))
    with pytest.raises(DataError, match="does not match") as raised:
        make(tmp_path)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("task", "sizes"), [("iwslt14_de_en", (8848, 6632)), ("wmt16_en_de", (32768, 32768))]
)
def test_the_synthetic_task_has_the_corpus_shapes(
    task: str, sizes: tuple[int, int], compose: Callable[..., DictConfig]
) -> None:
    """What scripts.bench_train trains when the corpus is absent."""
    cfg = compose(f"task={task}", *TINY_MODEL, "task.synthetic.train_pairs=3000").task
    built = synthetic(cfg, seed=1, data_dir="/nonexistent", device=CPU, world=World())
    assert (len(built.src_dict), len(built.tgt_dict)) == sizes
    batches = list(built.train_batches(0, 0, World()))
    assert sum(b.target.size(0) for b in batches) == 3000
    assert all(b.src_tokens.numel() <= cfg.max_tokens for b in batches)
    mean = sum(b.units for b in batches) / 3000
    assert 20 < mean < 35  # target tokens per sentence, </s> included (≈ 24 and ≈ 29)
    assert sum(1 for _ in built.eval_batches("test", World())) > 0
