"""Beam search: the exact best hypothesis where exhaustive search is possible, and fairseq's
rules against a plain per-sentence reference that recomputes every prefix from scratch."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from experiments.models.transformer import TransformerModel
from experiments.tasks.translation.beam_search import GenerationSettings, beam_search, max_length

PAD, EOS, UNK = 1, 2, 3


def tiny(vocab: int, seed: int) -> TransformerModel:
    torch.manual_seed(seed)
    model = TransformerModel(vocab, vocab, embed_dim=16, ffn_dim=32, heads=2, encoder_layers=1,
                             decoder_layers=2, dropout=0.0)  # fmt: skip
    return model.eval()


def sequence_log_probs(model: TransformerModel, src: torch.Tensor, outputs: list[list[int]]):
    """log p(y_1 … y_n </s> | src) of each output by one teacher-forced forward (no cache)."""
    width = max(len(y) for y in outputs) + 1
    prev = torch.full((len(outputs), width), PAD)
    target = torch.full((len(outputs), width), PAD)
    for row, y in enumerate(outputs):
        prev[row, : len(y) + 1] = torch.tensor([EOS, *y])
        target[row, : len(y) + 1] = torch.tensor([*y, EOS])
    with torch.no_grad():
        lprobs = F.log_softmax(model(src.expand(len(outputs), -1), prev).float(), dim=-1)
    picked = lprobs.gather(2, target.unsqueeze(2)).squeeze(2)
    return torch.where(target.ne(PAD), picked, 0.0).sum(1)


def exhaustive_best(model, src, vocab, max_len, len_penalty):
    """Every output of 1 … max_len symbols (pad and </s> excluded) scored as fairseq does."""
    symbols = [v for v in range(vocab) if v not in (PAD, EOS)]
    outputs = [list(y) for n in range(1, max_len + 1) for y in itertools.product(symbols, repeat=n)]
    scores = sequence_log_probs(model, src, outputs)
    normalised = scores / torch.tensor([(len(y) + 1) ** len_penalty for y in outputs])
    best = int(normalised.argmax())
    return outputs[best], normalised[best].item()


def peaked(seed: int) -> TransformerModel:
    """A 16-symbol model on which only tokens 4, 5, 6 and </s> are plausible: the last decoder
    layer norm pins feature 0 to 10 and the other symbols' output rows put −100 there, so their
    logits sit ≈ 1000 below. Beam 15 then keeps every plausible prefix of up to two symbols."""
    model = tiny(16, seed)
    with torch.no_grad():
        norm = model.decoder.layers[-1].final_layer_norm
        norm.weight[0], norm.bias[0] = 0.0, 10.0
        plausible = torch.zeros(16, dtype=torch.bool)
        plausible[[4, 5, 6, EOS]] = True
        model.decoder.embed_out[:, 0] = torch.where(plausible, 0.0, -100.0)
    return model


@pytest.mark.parametrize("len_penalty", [1.0, 0.6, 2.0])
def test_beam_search_finds_the_exhaustive_best(len_penalty: float) -> None:
    greedy_differs = 0
    for seed in range(6):
        model, src = peaked(seed), torch.tensor([[7, 8, 9, EOS]])
        settings = GenerationSettings(beam=15, max_len_b=2, len_penalty=len_penalty)
        (best, *_), *_ = beam_search(model, src, settings)
        tokens, score = exhaustive_best(model, src, 16, 2, len_penalty)
        assert best.tokens.tolist() == [*tokens, EOS]
        assert best.score == pytest.approx(score, abs=1e-4)
        greedy = beam_search(model, src, GenerationSettings(beam=1, max_len_b=2))[0][0]
        greedy_differs += greedy.tokens.tolist() != best.tokens.tolist()
    if len_penalty == 1.0:
        assert greedy_differs > 0  # the test can tell a search that prunes from one that doesn't


def test_one_step_outputs_are_exact_on_any_model() -> None:
    for seed in range(4):
        model, src = tiny(10, seed), torch.tensor([[4, 5, EOS]])
        best = beam_search(model, src, GenerationSettings(beam=9, max_len_b=1))[0][0]
        tokens, score = exhaustive_best(model, src, 10, 1, 1.0)
        assert best.tokens.tolist() == [*tokens, EOS]
        assert best.score == pytest.approx(score, abs=1e-5)


def reference_search(model, src, padded_len, settings, vocab):
    """fairseq's BeamSearch for one sentence, written plainly: every step rescores each live
    prefix with a full forward pass (no cache, no batching)."""
    beam = min(settings.beam, vocab - 1)
    max_len = max_length(settings, padded_len, model.max_decoder_positions)
    live, finished = [([], 0.0)], []
    for step in range(max_len + 1):
        candidates = []
        for index, (prefix, total) in enumerate(live):
            prev = torch.tensor([[EOS, *prefix]])
            with torch.no_grad():
                lprobs = F.log_softmax(model(src, prev)[0, -1].float(), dim=-1).tolist()
            lprobs[PAD] = -math.inf
            if step >= max_len:
                lprobs = [value if v == EOS else -math.inf for v, value in enumerate(lprobs)]
            if step < settings.min_len:
                lprobs[EOS] = -math.inf
            candidates += [(total + value, index * vocab + v) for v, value in enumerate(lprobs)]
            if step == 0:
                break
        candidates.sort(key=lambda c: -c[0])
        candidates = candidates[: min(2 * beam, len(candidates) - 1)]
        for total, flat in candidates[:beam]:
            if flat % vocab == EOS and total > -math.inf and len(finished) < beam:
                prefix = live[flat // vocab][0]
                finished.append(([*prefix, EOS], total / (step + 1) ** settings.len_penalty))
        if len(finished) >= beam or step >= max_len:
            break
        going_on = [c for c in candidates if not (c[1] % vocab == EOS and c[0] > -math.inf)]
        live = [([*live[flat // vocab][0], flat % vocab], total) for total, flat in going_on[:beam]]
    return sorted(finished, key=lambda h: -h[1])


@pytest.mark.parametrize(("beam", "a", "b"), [(4, 1.2, 2), (5, 0.0, 6), (2, 0.5, 3)])
def test_batched_incremental_search_equals_the_plain_reference(beam: int, a: float, b: int) -> None:
    model = tiny(12, seed=beam)
    rows = [[4, 5, 6, 7, EOS], [8, 9, EOS], [10, 11, 4, EOS]]
    width = max(map(len, rows))
    src = torch.tensor([[PAD] * (width - len(r)) + r for r in rows])  # left-padded, as fairseq
    settings = GenerationSettings(beam=beam, max_len_a=a, max_len_b=b)
    found = beam_search(model, src, settings)
    for row, hypotheses in zip(rows, found, strict=True):
        expected = reference_search(model, torch.tensor([row]), width, settings, 12)
        assert [h.tokens.tolist() for h in hypotheses] == [tokens for tokens, _ in expected]
        assert [h.score for h in hypotheses] == pytest.approx([s for _, s in expected], abs=1e-4)


def test_hypotheses_follow_fairseq_rules() -> None:
    model = tiny(12, seed=1)
    src = torch.tensor([[PAD, 4, 5, EOS], [6, 7, 8, EOS]])
    settings = GenerationSettings(beam=20, max_len_a=0.5, max_len_b=1)  # beam capped at 11
    found = beam_search(model, src, settings)
    limit = max_length(settings, 4, 1024)
    assert limit == 3  # int(0.5 × 4 + 1), from the padded source length
    for sentence, hypotheses in enumerate(found):
        assert len(hypotheses) == 11  # k = V − 1 finished hypotheses per sentence
        assert [h.score for h in hypotheses] == sorted((h.score for h in hypotheses), reverse=True)
        for h in hypotheses:
            tokens = h.tokens.tolist()
            assert tokens[-1] == EOS and EOS not in tokens[:-1] and PAD not in tokens
            assert 2 <= len(tokens) <= limit + 1  # min_len 1: never just </s>
            # the score is the model's log-probability of the tokens over the length
            total = sequence_log_probs(model, src[sentence : sentence + 1], [tokens[:-1]])
            assert h.score == pytest.approx(total.item() / len(tokens), abs=1e-4)
            assert h.positional_scores.sum().item() == pytest.approx(total.item(), abs=1e-4)
    assert max_length(GenerationSettings(max_len_a=0, max_len_b=5000), 10, 1024) == 1023
    with pytest.raises(ValueError, match="beam"):
        GenerationSettings(beam=0)
