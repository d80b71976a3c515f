"""Label-smoothed cross entropy against a hand computation of both fairseq forms."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from experiments.tasks.translation.loss import label_smoothed_nll_loss, smoothing_weights

PAD = 1


def hand_loss(logits: list[list[float]], targets: list[int], epsilon: float, form: str):
    """Token by token, in float64 Python: −log softmax, then fairseq's weighting."""
    total = nll_total = 0.0
    vocab = len(logits[0])
    for row, target in zip(logits, targets, strict=True):
        if target == PAD:
            continue
        top = max(row)
        log_z = top + math.log(sum(math.exp(x - top) for x in row))
        nll = log_z - row[target]
        smooth = sum(log_z - x for x in row)
        eps_i = epsilon / vocab if form == "fairseq_2019" else epsilon / (vocab - 1)
        weight = 1 - epsilon if form == "fairseq_2019" else 1 - epsilon - eps_i
        total += weight * nll + eps_i * smooth
        nll_total += nll
    return total, nll_total


@pytest.mark.parametrize("form", ["fairseq_2019", "fairseq_2021"])
def test_both_forms_match_a_hand_computation_and_mask_pads(form: str) -> None:
    generator = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 3, 7, generator=generator, dtype=torch.float64) * 3
    target = torch.tensor([[4, 0, 2], [5, PAD, PAD]])
    loss, nll = label_smoothed_nll_loss(logits, target, 0.1, PAD, form)
    expected, expected_nll = hand_loss(logits.reshape(6, 7).tolist(), target.reshape(-1).tolist(),
                                       0.1, form)  # fmt: skip
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert nll.item() == pytest.approx(expected_nll, rel=1e-6)
    assert loss.dtype == torch.float32  # computed in fp32 whatever the logits' dtype


def test_the_2019_form_is_torch_label_smoothing_and_the_forms_differ() -> None:
    logits = torch.randn(5, 11, generator=torch.Generator().manual_seed(0))
    target = torch.tensor([3, 7, PAD, 0, 10])
    loss, _ = label_smoothed_nll_loss(logits, target, 0.1, PAD, "fairseq_2019")
    torch_loss = F.cross_entropy(
        logits, target, ignore_index=PAD, label_smoothing=0.1, reduction="sum"
    )
    assert loss.item() == pytest.approx(torch_loss.item(), rel=1e-6)
    later, _ = label_smoothed_nll_loss(logits, target, 0.1, PAD, "fairseq_2021")
    assert later.item() != pytest.approx(loss.item(), rel=1e-6)
    assert smoothing_weights(0.1, 11, "fairseq_2021") == pytest.approx((0.89, 0.01))
    with pytest.raises(ValueError, match="fairseq_2019"):
        smoothing_weights(0.1, 11, "2020")


def test_gradients_reach_logits_of_non_pad_tokens_only() -> None:
    logits = torch.randn(3, 6, requires_grad=True)
    loss, _ = label_smoothed_nll_loss(logits, torch.tensor([2, PAD, 4]), 0.1, PAD)
    loss.backward()
    assert torch.all(logits.grad[1] == 0) and torch.any(logits.grad[0] != 0)
