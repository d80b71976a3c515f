"""Translation through the task contract: ``configs/task/iwslt14_*.yaml`` and
``configs/task/wmt16_en_de.yaml`` (the RAdam paper's Table 2 and Fig. 1).

Training: token-budget buckets (``batches``), the unit a non-pad target token, label-smoothed
cross entropy summed over the bucket (``loss``); ``train_metrics`` logs the loss and NLL in nats
(``train/loss``, ``train/nll``), in bits as fairseq prints them (``train/base2/loss``,
``train/base2/nll``) and the perplexity ``train/ppl`` = exp(NLL) = 2^(bits). The loop clips,
accumulates, schedules and averages checkpoints (``task.clip_grad_norm``, ``task.update_freq``,
``task.average``).

Evaluation: every evaluation sums the validation and test loss (``<split>/loss``, ``/nll``,
``/ppl``, ``/base2/...``); a full one (every ``task.full_eval_every`` evaluations, and the final
ones) also beam-searches each split and scores BLEU: ``<split>/bleu`` (fairseq's tokenized
BLEU-4 after BPE removal, the paper's IWSLT number) and ``<split>/sacrebleu`` (detokenized; its
signature is printed and stored in ``meta.json`` beside the dataset checksums). Final
evaluations (the last model and the average of the last snapshots, ``avg/...``) decode as the
RAdam repository's ``eval.sh`` runs fairseq-generate (``task.generation.final``: beam 5,
``max_len_a`` 0, ``max_len_b`` 200, length penalty 1); earlier full ones with fairseq's
validation-BLEU settings (``task.generation.validation``: ``max_len_a`` 1.2, ``max_len_b`` 10).
The ``val`` split's metrics also carry ``train/ppl``: exp of the mean training NLL of the log
windows since the previous evaluation (``Evaluation.trained``; the figure Fig. 1 plots), so
``summary.json`` holds it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import Tensor, nn

from data import DataError
from data.release_check import accepted
from data.translation.corpus import TranslationCorpus, check_corpus, check_release, load_corpus
from data.translation.dictionary import Dictionary
from experiments.config_checks import ConfigError, non_negative, positive_int, probability
from experiments.distributed import World
from experiments.tasks.contract import Budget, CheckpointAverage, Evaluation, Task
from experiments.tasks.translation.batches import (
    BucketRules,
    SplitBatches,
    TokenSequences,
    TranslationBatch,
)
from experiments.tasks.translation.beam_search import GenerationSettings, Symbols, beam_search
from experiments.tasks.translation.bleu import bleu_from_stats, sacrebleu_from_stats
from experiments.tasks.translation.loss import FORMS, label_smoothed_nll_loss
from experiments.tasks.translation.scoring import bleu_statistics

LN2 = math.log(2.0)
SPLITS = {"train": "train", "val": "valid", "test": "test"}
"""The suite's split names and the corpus's."""


class TranslationTask(Task):
    unit = "tokens"

    def __init__(
        self,
        *,
        model: nn.Module,
        src_dict: Dictionary,
        tgt_dict: Dictionary,
        train: SplitBatches,
        eval_sources: Mapping[str, SplitBatches],
        budget: Budget,
        label_smoothing: float,
        label_smoothing_form: str,
        generation: Mapping[str, GenerationSettings],
        bpe: str | None,
        target_lang: str,
        full_eval_every: int | None = None,
        average: CheckpointAverage | None = None,
        checksums: Mapping[str, str] | None = None,
        is_main: bool = True,
    ) -> None:
        self.model, self.src_dict, self.tgt_dict = model, src_dict, tgt_dict
        self.train, self.eval_sources = train, dict(eval_sources)
        self.eval_splits = tuple(self.eval_sources)
        self.budget = budget
        self.label_smoothing, self.label_smoothing_form = label_smoothing, label_smoothing_form
        self.generation, self.bpe, self.target_lang = dict(generation), bpe, target_lang
        self.full_eval_every, self.average = full_eval_every, average
        self.headline = "avg/test/bleu" if average is not None else "test/bleu"
        self.checksums = dict(checksums or {})
        self.symbols = Symbols(tgt_dict.pad(), tgt_dict.eos(), tgt_dict.unk())
        self.is_main = is_main
        """Whether this rank prints the sacrebleu signature."""

    def micro_batches_per_epoch(self, epoch: int, world: World) -> int:
        return self.train.epochs.steps(world.world_size)

    def train_batches(self, epoch: int, start: int, world: World) -> Iterator[TranslationBatch]:
        return self.train.training(epoch, start, world)

    def train_step(
        self, model: nn.Module, batch: TranslationBatch
    ) -> tuple[Tensor, dict[str, Tensor]]:
        logits = model(batch.src_tokens, batch.prev_output_tokens)
        if batch.units == 0:  # no bucket for this rank in this step
            zero = logits.float().sum() * 0.0
            return zero, {"nll": zero.detach()}
        loss, nll = label_smoothed_nll_loss(
            logits, batch.target, self.label_smoothing, self.symbols.pad, self.label_smoothing_form
        )
        return loss, {"nll": nll.detach()}

    def train_metrics(self, means: Mapping[str, float]) -> dict[str, float]:
        loss, nll = means["loss"], means["nll"]
        return {
            "train/loss": loss,
            "train/nll": nll,
            "train/ppl": _exp(nll),
            "train/base2/loss": loss / LN2,
            "train/base2/nll": nll / LN2,
        }

    def eval_batches(self, split: str, world: World) -> Iterator[TranslationBatch]:
        return self.eval_sources[split].evaluation(world)

    def eval_step(
        self, model: nn.Module, batch: TranslationBatch, evaluation: Evaluation
    ) -> dict[str, Tensor | float]:
        logits = model(batch.src_tokens, batch.prev_output_tokens)
        loss, nll = label_smoothed_nll_loss(
            logits, batch.target, self.label_smoothing, self.symbols.pad, self.label_smoothing_form
        )
        stats: dict[str, Tensor | float] = {"loss": loss, "nll": nll, "ntokens": batch.units}
        if evaluation.full:
            settings = self.generation["final" if evaluation.final else "validation"]
            hypotheses = beam_search(
                model, batch.src_tokens, settings, self.symbols, stop=evaluation.stop
            )
            stats.update(
                bleu_statistics(
                    hypotheses, batch.references, self.tgt_dict, self.bpe, self.target_lang
                )
            )
        return stats

    def eval_metrics(
        self, split: str, totals: Mapping[str, float], evaluation: Evaluation
    ) -> dict[str, float]:
        tokens = max(totals.get("ntokens", 0.0), 1.0)
        loss, nll = totals.get("loss", 0.0) / tokens, totals.get("nll", 0.0) / tokens
        metrics = {
            f"{split}/loss": loss,
            f"{split}/nll": nll,
            f"{split}/ppl": _exp(nll),
            f"{split}/base2/loss": loss / LN2,
            f"{split}/base2/nll": nll / LN2,
        }
        if "bleu_sys_len" in totals:
            metrics[f"{split}/bleu"] = bleu_from_stats(totals)
            score, signature = sacrebleu_from_stats(totals)
            metrics[f"{split}/sacrebleu"] = score
            if self.is_main:
                print(f"{split}: sacrebleu {score:.2f} ({signature})", flush=True)
        if split == "val" and "nll" in evaluation.trained:
            metrics["train/ppl"] = _exp(evaluation.trained["nll"])
        return metrics


def _exp(value: float) -> float:
    """exp without overflow (a diverging window's NLL gives inf; a NaN stays NaN)."""
    if math.isnan(value):
        return value
    return math.exp(value) if value < 700 else math.inf


# ------------------------------------------------------------------------------ building


MODEL_DROPOUTS = ("dropout", "attention_dropout", "activation_dropout")


def check_keys(cfg: DictConfig) -> None:
    """The keys ``build`` refuses before reading the corpus (``ConfigError``, one line): the
    model's dropout rates, ``remove_bpe`` and the generation settings."""
    for key in MODEL_DROPOUTS:
        if key in cfg.model:
            probability(f"task.model.{key}", cfg.model[key])
    value = cfg.get("remove_bpe", "auto")
    if value is not None and not isinstance(value, str):
        raise ConfigError(
            f"task.remove_bpe={value!r} is invalid: auto (the corpus's segmentation), null (keep "
            "BPE) or the BPE continuation symbol as a string (e.g. '@@ ')"
        )
    generation_settings(cfg)
    checkpoint_average(cfg)
    accepted(cfg.get("accept_corpus"))


def generation_settings(cfg: DictConfig) -> dict[str, GenerationSettings]:
    """``final`` (eval.sh's fairseq-generate) and ``validation`` (fairseq's --eval-bleu). Lengths
    are refused below 0 (fairseq takes any number and then decodes nothing or fails)."""
    common = cfg.generation
    beam = positive_int("task.generation.beam", common.beam)
    non_negative("task.generation.min_len", common.min_len)
    settings = {}
    for name in ("final", "validation"):
        lengths = common[name]
        for key in ("max_len_a", "max_len_b"):
            non_negative(f"task.generation.{name}.{key}", lengths[key])
        settings[name] = GenerationSettings(
            beam=beam, max_len_a=float(lengths.max_len_a), max_len_b=int(lengths.max_len_b),
            min_len=int(common.min_len), len_penalty=float(common.len_penalty),
            unk_penalty=float(common.unk_penalty),
        )  # fmt: skip
    return settings


def checkpoint_average(cfg: DictConfig) -> CheckpointAverage | None:
    spec = cfg.get("average")
    if spec is None:
        return None
    last = positive_int("task.average.last", spec.get("last"))
    every = positive_int("task.average.every", spec.get("every"), nullable=True)
    return CheckpointAverage(last=last, every=every)


def evaluated(batches: SplitBatches) -> SplitBatches:
    """``batches`` of an evaluation split, refused (``DataError``, one line naming the split) when
    they hold no sentence pair: the task is built before training, and an empty split would
    otherwise end the run without its loss or BLEU."""
    if len(batches):
        return batches
    held = len(batches.source)
    why = f", all {held:,} skipped as too long (task.eval_long_pairs=skip)" if held else ""
    raise DataError(
        f"the {batches.name} split ({SPLITS[batches.name]}) holds {held:,} sentence pairs{why}: "
        "an evaluation needs at least one"
    )


def bucket_rules(cfg: DictConfig, max_positions: tuple[int, int], train: bool) -> BucketRules:
    max_tokens = positive_int("task.max_tokens", cfg.max_tokens, nullable=True)
    max_sentences = positive_int("task.max_sentences", cfg.max_sentences, nullable=True)
    if max_tokens is None and max_sentences is None:
        raise ConfigError("task.max_tokens and task.max_sentences are both null: set one")
    if not train:
        max_tokens = positive_int("task.eval_max_tokens", cfg.eval_max_tokens, True) or max_tokens
    key = "long_pairs" if train else "eval_long_pairs"
    long_pairs = cfg[key]
    if long_pairs not in ("skip", "raise"):
        raise ConfigError(f"task.{key}={long_pairs!r} is invalid: skip or raise")
    multiple = positive_int("task.required_batch_size_multiple", cfg.required_batch_size_multiple)
    return BucketRules(max_tokens, max_sentences, multiple, max_positions, on_invalid=long_pairs)


def build_task(
    cfg: DictConfig,
    *,
    seed: int,
    src_dict: Dictionary,
    tgt_dict: Dictionary,
    splits: Mapping[str, tuple[TokenSequences, TokenSequences]],
    bpe: str | None,
    checksums: Mapping[str, str],
    device: torch.device,
    world: World,
) -> TranslationTask:
    """The task on given dictionaries and splits (``train``, ``valid``, ``test``), its model on
    ``device``."""
    if cfg.label_smoothing_form not in FORMS:
        raise ConfigError(
            f"task.label_smoothing_form={cfg.label_smoothing_form!r} is invalid: one of "
            f"{', '.join(FORMS)}"
        )
    if not 0 <= cfg.label_smoothing < 1:
        raise ConfigError(f"task.label_smoothing={cfg.label_smoothing!r} is invalid: in [0, 1)")
    check_keys(cfg)
    generation = generation_settings(cfg)
    if cfg.model.get("share_all_embeddings") and src_dict != tgt_dict:
        raise ConfigError(
            "task.model.share_all_embeddings=true needs one joint dictionary, but the source "
            f"and target dictionaries differ ({len(src_dict)} and {len(tgt_dict)} symbols)"
        )
    model = instantiate(cfg.model, src_vocab_size=len(src_dict), tgt_vocab_size=len(tgt_dict))
    model.to(device)
    max_positions = (model.encoder.max_positions, model.decoder.max_positions)
    pad, eos = tgt_dict.pad(), tgt_dict.eos()

    def split_batches(name: str, train: bool) -> SplitBatches:
        source, target = splits[SPLITS[name]]
        rules = bucket_rules(cfg, max_positions, train)
        return SplitBatches(name, source, target, rules, seed=seed, shuffle=train, pad=pad, eos=eos)

    epochs = positive_int("task.epochs", cfg.epochs, nullable=True)
    updates = positive_int("task.max_updates", cfg.max_updates, nullable=True)
    if epochs is None and updates is None:
        raise ConfigError("task.epochs and task.max_updates are both null: set one")
    task = TranslationTask(
        model=model,
        src_dict=src_dict,
        tgt_dict=tgt_dict,
        train=split_batches("train", True),
        eval_sources={name: evaluated(split_batches(name, False)) for name in ("val", "test")},
        budget=Budget(epochs=epochs, updates=updates),
        label_smoothing=float(cfg.label_smoothing),
        label_smoothing_form=str(cfg.label_smoothing_form),
        generation=generation,
        bpe=bpe,
        target_lang=str(cfg.target_lang),
        full_eval_every=positive_int("task.full_eval_every", cfg.full_eval_every, nullable=True),
        average=checkpoint_average(cfg),
        checksums=checksums,
        is_main=world.is_main,
    )
    return task


def sacrebleu_signature() -> str:
    """The signature of the sacrebleu scores this suite computes (13a, exp smoothing, mixed
    case, one reference, the installed version)."""
    empty = {f"sacrebleu_{kind}_{n}": 0.0 for kind in ("match", "count") for n in range(1, 5)}
    _, signature = sacrebleu_from_stats({**empty, "sacrebleu_sys_len": 0, "sacrebleu_ref_len": 0})
    return signature


def build(
    cfg: DictConfig, *, seed: int, data_dir: str, device: torch.device, world: World
) -> TranslationTask:
    check_keys(cfg)
    corpus: TranslationCorpus = load_corpus(
        cfg.corpus, cfg.source_lang, cfg.target_lang, data_dir, source=cfg.get("source", "files")
    )
    checksums = {**corpus.checksums, "test_set": corpus.test_set, "valid_set": corpus.valid_set}
    checksums["sacrebleu_signature"] = sacrebleu_signature()
    checksums.update(check_release(corpus, data_dir, accept=accepted(cfg.get("accept_corpus"))))
    return build_task(
        cfg, seed=seed, src_dict=corpus.src_dict, tgt_dict=corpus.tgt_dict,
        splits=corpus.splits, bpe=_bpe(cfg, corpus.bpe), checksums=checksums, device=device,
        world=world,
    )  # fmt: skip


def check_data(cfg: DictConfig, *, data_dir: str) -> None:
    """What ``build`` refuses before reading the corpus: an unknown corpus or language pair, and
    prepared text (or a binarized cache) that is missing, and the keys of ``check_keys``.
    Nothing is read or binarized."""
    check_keys(cfg)
    check_corpus(
        cfg.corpus, cfg.source_lang, cfg.target_lang, data_dir, source=cfg.get("source", "files")
    )


def _bpe(cfg: DictConfig, corpus_bpe: str | None) -> str | None:
    """``task.remove_bpe``: ``auto`` (the corpus's segmentation), null (keep BPE) or a symbol."""
    value = cfg.get("remove_bpe", "auto")
    return corpus_bpe if value == "auto" else value


def synthetic(
    cfg: DictConfig, *, seed: int, data_dir: str, device: torch.device, world: World
) -> TranslationTask:
    """The recipe on random sentence pairs of the corpus's sizes (dictionaries, split sizes,
    length distribution: ``experiments.tasks.translation.synthetic_corpus``), through the real
    bucketing, model and loss (for ``scripts.bench_train``; nothing is read from ``data_dir``)."""
    from experiments.tasks.translation.synthetic_corpus import synthetic_corpus

    corpus = synthetic_corpus(OmegaConf.select(cfg, "synthetic"), seed)
    return build_task(
        cfg, seed=seed, src_dict=corpus.src_dict, tgt_dict=corpus.tgt_dict,
        splits=corpus.splits, bpe=None, checksums={}, device=device, world=world,
    )  # fmt: skip
