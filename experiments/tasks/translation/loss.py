"""Label-smoothed cross entropy as fairseq's ``label_smoothed_cross_entropy`` criterion (Szegedy
et al. 2016, §7; ε = 0.1 in every recipe of the RAdam paper).

Per non-pad target token, with ``nll = −log p(y)`` and ``smooth = −Σ_v log p(v)`` over the V
entries of the target dictionary:

- ``fairseq_2019`` (fairseq ≤ 0.10, behind the RAdam numbers): ε_i = ε / V and
  ``loss = (1 − ε)·nll + ε_i·smooth`` — what ``F.cross_entropy(label_smoothing=ε)`` computes;
- ``fairseq_2021`` (fairseq ≥ 2021-02, commit "More accurate label smoothing loss
  computation"): ε_i = ε / (V − 1) and ``loss = (1 − ε − ε_i)·nll + ε_i·smooth``, i.e. mass ε
  spread over the V − 1 wrong symbols only.

Pads are masked; both sums are returned in nats (fairseq logs ``loss / ln 2`` per target token).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

FORMS = ("fairseq_2019", "fairseq_2021")


def smoothing_weights(epsilon: float, vocab_size: int, form: str) -> tuple[float, float]:
    """The weights ``(w_nll, ε_i)`` of ``loss = w_nll·nll + ε_i·smooth``."""
    if form == "fairseq_2019":
        eps_i = epsilon / vocab_size
        return 1.0 - epsilon, eps_i
    if form == "fairseq_2021":
        eps_i = epsilon / (vocab_size - 1)
        return 1.0 - epsilon - eps_i, eps_i
    raise ValueError(f"label smoothing form {form!r}: one of {', '.join(FORMS)}")


def label_smoothed_nll_loss(
    logits: Tensor, target: Tensor, epsilon: float, padding_idx: int, form: str = "fairseq_2019"
) -> tuple[Tensor, Tensor]:
    """Summed label-smoothed loss and summed NLL (fp32, nats) over the non-pad targets.
    ``logits``: ... × V; ``target``: the matching ... indices."""
    w_nll, eps_i = smoothing_weights(epsilon, logits.size(-1), form)
    lprobs = F.log_softmax(logits.float(), dim=-1).reshape(-1, logits.size(-1))
    target = target.reshape(-1)
    keep = target.ne(padding_idx)
    nll = -lprobs.gather(1, target.unsqueeze(1)).squeeze(1)
    smooth = -lprobs.sum(dim=-1)
    zero = torch.zeros((), dtype=nll.dtype, device=nll.device)
    nll_sum = torch.where(keep, nll, zero).sum()
    smooth_sum = torch.where(keep, smooth, zero).sum()
    return w_nll * nll_sum + eps_i * smooth_sum, nll_sum
