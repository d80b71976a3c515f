"""Batched, incremental beam search with fairseq's rules (``sequence_generator.py`` and
``search.py``: ``BeamSearch``; the RAdam numbers come from ``fairseq-generate --beam 5``).

Per batch of B sentences and beam size k (capped at V − 1, as fairseq's "never select pad"):

- the decoder starts every hypothesis with ``</s>``; the encoder runs once and is repeated k
  times; each step decodes only the newest position, reusing cached keys and values;
- ``max_len = min(int(max_len_a · S + max_len_b), max_decoder_positions − 1)`` where S is the
  batch's padded source length (``</s>`` included), as fairseq computes it; at step
  ``max_len`` only ``</s>`` may follow, before step ``min_len`` it may not; pad is never chosen
  and ``<unk>`` loses ``unk_penalty``;
- each step takes the 2k best continuations of the k beams by cumulative log-probability (step 0
  uses the first beam only: all k are the same). A continuation ending in ``</s>`` with a finite
  score, ranked among the first k, finishes a hypothesis: its score is the sum of its token
  log-probabilities (``</s>`` included) divided by ``length ** len_penalty``, length counting
  ``</s>``. The first k continuations that do not end in ``</s>`` become the next beams;
- a sentence is done when k hypotheses have finished (or at step ``max_len``): there is no
  early stop on score bounds. Its hypotheses are returned best first (stable sort by score).

Finished sentences leave the batch, which changes nothing for the others. Reading the finished
hypotheses is a host read per step: beam search only runs in (full) evaluations.

A ``stop`` callable (the evaluation's stop signal, ``Evaluation.stop``) is asked before every
decoding step: a signal is honoured within one step even inside a large batch of long sentences
(``EvaluationStopped``: the batch is abandoned and the evaluation with it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from experiments.models.transformer import DecoderCache, TransformerModel
from experiments.tasks.contract import EvaluationStopped


@dataclass(frozen=True)
class GenerationSettings:
    """fairseq-generate's options; the defaults are its own (``--beam 5`` aside, whose default
    is 5 in fairseq-generate as well)."""

    beam: int = 5
    max_len_a: float = 0.0
    max_len_b: int = 200
    min_len: int = 1
    len_penalty: float = 1.0
    unk_penalty: float = 0.0
    normalize_scores: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.beam, bool) or not isinstance(self.beam, int) or self.beam < 1:
            raise ValueError(f"beam must be an integer >= 1, got {self.beam!r}")


@dataclass
class Hypothesis:
    tokens: Tensor
    """Target ids ending with ``</s>`` (host, int64)."""
    score: float
    """Sum of the token log-probabilities over ``length ** len_penalty``."""
    positional_scores: Tensor
    """Each token's log-probability (host, float32)."""


@dataclass(frozen=True)
class Symbols:
    pad: int = 1
    eos: int = 2
    unk: int = 3


def max_length(settings: GenerationSettings, src_len: int, max_positions: int) -> int:
    return min(int(settings.max_len_a * src_len + settings.max_len_b), max_positions - 1)


@torch.no_grad()
def beam_search(
    model: TransformerModel,
    src_tokens: Tensor,
    settings: GenerationSettings,
    symbols: Symbols = Symbols(),
    stop: Callable[[], bool] | None = None,
) -> list[list[Hypothesis]]:
    """The finished hypotheses of each sentence of ``src_tokens`` (B × S, left-padded), best
    first. ``model`` must be in eval mode for dropout-free decoding. Raises
    ``EvaluationStopped`` when ``stop()`` is true before a decoding step."""
    device = src_tokens.device
    bsz, src_len = src_tokens.shape
    pad, eos, unk = symbols.pad, symbols.eos, symbols.unk
    encoder_out = model.encode(src_tokens)
    vocab = model.tgt_vocab_size
    beam = min(settings.beam, vocab - 1)
    max_len = max_length(settings, src_len, model.max_decoder_positions)
    cand_size = 2 * beam

    rows = torch.arange(bsz, device=device).repeat_interleave(beam)
    encoder_out = encoder_out.reorder(rows)
    cache = DecoderCache()
    tokens = src_tokens.new_full((bsz * beam, max_len + 2), pad)
    tokens[:, 0] = eos
    scores = torch.zeros(bsz * beam, max_len + 1, device=device)
    finalized: list[list[Hypothesis]] = [[] for _ in range(bsz)]
    alive = list(range(bsz))  # original sentence of each current batch row
    ignore = torch.zeros(bsz, beam, dtype=torch.bool, device=device)
    reorder: Tensor | None = None

    for step in range(max_len + 1):
        if stop is not None and stop():
            raise EvaluationStopped
        if reorder is not None:
            cache.reorder(reorder)
            encoder_out = encoder_out.reorder(reorder)
        logits = model.decode(tokens[:, : step + 1], encoder_out, cache)[:, -1, :]
        lprobs = F.log_softmax(logits.float(), dim=-1)
        lprobs = lprobs.masked_fill(torch.isnan(lprobs), -math.inf)
        lprobs[:, pad] = -math.inf
        lprobs[:, unk] -= settings.unk_penalty
        if step >= max_len:
            lprobs[:, :eos] = -math.inf
            lprobs[:, eos + 1 :] = -math.inf
        if step < settings.min_len:
            lprobs[:, eos] = -math.inf

        n = len(alive)
        per_beam = lprobs.view(n, beam, vocab)
        if step == 0:
            per_beam = per_beam[:, :1, :]
        else:
            per_beam = per_beam + scores.view(n, beam, -1)[:, :, step - 1].unsqueeze(-1)
        flat = per_beam.reshape(n, -1)
        cand_scores, cand_flat = flat.topk(min(cand_size, flat.size(1) - 1), dim=1)
        cand_beams = torch.div(cand_flat, vocab, rounding_mode="trunc")
        cand_tokens = cand_flat.fmod(vocab)
        offsets = (torch.arange(n, device=device) * beam).unsqueeze(1)
        cand_rows = cand_beams + offsets

        eos_mask = cand_tokens.eq(eos) & cand_scores.ne(-math.inf)
        eos_mask[:, :beam] &= ~ignore
        done = _finalize(
            step, eos_mask[:, :beam], cand_rows[:, :beam], cand_scores[:, :beam], tokens, scores,
            finalized, alive, beam, max_len, settings, eos,
        )  # fmt: skip
        keep = [i for i in range(n) if i not in done]
        if not keep:
            break
        if len(keep) < n:
            index = torch.tensor(keep, device=device)
            eos_mask, cand_rows = eos_mask[index], cand_rows[index]
            cand_scores, cand_tokens, ignore = cand_scores[index], cand_tokens[index], ignore[index]
            alive = [alive[i] for i in keep]

        # The first k candidates that neither finished nor sit in an ignored slot go on.
        blocked = eos_mask.clone()
        blocked[:, :beam] |= ignore
        rank = blocked.long() * cand_size + torch.arange(blocked.size(1), device=device)
        chosen_rank, chosen = rank.topk(beam, dim=1, largest=False)
        ignore = chosen_rank.ge(cand_size)
        new_rows = cand_rows.gather(1, chosen).view(-1)
        tokens = tokens.index_select(0, new_rows)
        tokens[:, step + 1] = cand_tokens.gather(1, chosen).view(-1)
        scores = scores.index_select(0, new_rows)
        scores[:, step] = cand_scores.gather(1, chosen).view(-1)
        reorder = new_rows

    return [sorted(hypotheses, key=lambda h: -h.score) for hypotheses in finalized]


def _finalize(
    step: int,
    eos_mask: Tensor,
    cand_rows: Tensor,
    cand_scores: Tensor,
    tokens: Tensor,
    scores: Tensor,
    finalized: list[list[Hypothesis]],
    alive: list[int],
    beam: int,
    max_len: int,
    settings: GenerationSettings,
    eos: int,
) -> set[int]:
    """Store the hypotheses that end with ``</s>`` at ``step`` (in candidate order, at most
    ``beam`` per sentence); return the batch rows of the sentences now done."""
    rows = cand_rows[eos_mask]
    if rows.numel():
        eos_scores = cand_scores[eos_mask]
        sentence_of_row = eos_mask.nonzero()[:, 0]
        hypo_tokens = tokens.index_select(0, rows)[:, 1 : step + 2].clone()
        hypo_tokens[:, step] = eos
        positional = scores.index_select(0, rows)[:, : step + 1].clone()
        positional[:, step] = eos_scores
        positional[:, 1:] = positional[:, 1:] - positional[:, :-1]
        normalised = eos_scores
        if settings.normalize_scores:
            normalised = eos_scores / (step + 1) ** settings.len_penalty
        host_tokens, host_positional = hypo_tokens.cpu(), positional.cpu()
        for i, (batch_row, score) in enumerate(
            zip(sentence_of_row.tolist(), normalised.tolist(), strict=True)
        ):
            hypotheses = finalized[alive[batch_row]]
            if len(hypotheses) < beam:
                hypotheses.append(Hypothesis(host_tokens[i], score, host_positional[i]))
    return {
        row
        for row, sentence in enumerate(alive)
        if step >= max_len or len(finalized[sentence]) >= beam
    }
