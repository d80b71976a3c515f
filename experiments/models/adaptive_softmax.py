"""The adaptive softmax (Grave et al. 2017) in the form of the RAdam repository's
``language-model/model_word_ada/adaptive.py``.

With cutoffs ``c_0 < c_1 < … < c_k`` (``c_k`` the number of classes) the head is a biased
``Linear(d, c_0 + k)`` over the ``c_0`` most frequent words and one entry per tail cluster; tail
``i`` (words ``c_i .. c_{i+1} − 1``) is ``Linear(d, d // 4^(i+1), bias=False)`` followed by
``Linear(d // 4^(i+1), c_{i+1} − c_i, bias=False)``. log p(w) is the head's log-softmax at ``w``
for a head word, else the head's log-softmax at the word's cluster plus the tail's log-softmax at
the word. The reference builds its last cutoff as ``len(vocabulary) + 1``: one class more than
words, never a target (kept here: ``extra_class``). These are exactly the shapes of torch's
``nn.AdaptiveLogSoftmaxWithLoss(d, V + 1, cutoffs, div_value=4.0, head_bias=True)``; this module
differs from torch's only in how it is driven: which tokens fall in which cluster is worked out
on the host from the batch's targets (``plan_clusters``), so the forward pass needs no
data-dependent shapes and never synchronises with the GPU, and every tail is used on every call
(an empty cluster gives zero gradients, which DistributedDataParallel needs). Logits may be
computed in bf16 under autocast; the log-softmaxes are taken in fp32.

Initialisation as the reference's ``rand_ini``: Xavier-normal head and tail weights, the head
bias at ``nn.Linear``'s default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class ClusterPlan:
    """Where each target goes: ``head_targets`` (the head class of every token) and, per tail
    cluster, the token ``rows`` in it and their ``local`` class within the cluster."""

    head_targets: Tensor
    rows: tuple[Tensor, ...]
    local: tuple[Tensor, ...]

    def to(self, device: torch.device) -> ClusterPlan:
        return ClusterPlan(
            self.head_targets.to(device, non_blocking=True),
            tuple(t.to(device, non_blocking=True) for t in self.rows),
            tuple(t.to(device, non_blocking=True) for t in self.local),
        )


def plan_clusters(targets: np.ndarray, cutoffs: Sequence[int]) -> ClusterPlan:
    """The plan of flat ``targets`` (negative = padding, sent to head class 0 and ignored by the
    loss's weights) for ``cutoffs`` (the last one the number of classes)."""
    targets = np.asarray(targets, dtype=np.int64).reshape(-1)
    shortlist = cutoffs[0]
    cluster = np.searchsorted(np.asarray(cutoffs[:-1]), targets, side="right")
    head = np.where(cluster == 0, np.maximum(targets, 0), shortlist + cluster - 1)
    rows, local = [], []
    for index in range(1, len(cutoffs)):
        found = np.flatnonzero(cluster == index)
        rows.append(torch.from_numpy(found))
        local.append(torch.from_numpy(targets[found] - cutoffs[index - 1]))
    return ClusterPlan(torch.from_numpy(head), tuple(rows), tuple(local))


class AdaptiveSoftmax(nn.Module):
    def __init__(self, in_features: int, cutoffs: Sequence[int], div_value: float = 4.0) -> None:
        super().__init__()
        cutoffs = [int(c) for c in cutoffs]
        if any(b <= a for a, b in zip(cutoffs, cutoffs[1:], strict=False)) or cutoffs[0] < 1:
            raise ValueError(f"cutoffs {cutoffs} must be positive and strictly increasing")
        self.cutoffs = cutoffs
        self.n_classes = cutoffs[-1]
        clusters = len(cutoffs) - 1
        self.head = nn.Linear(in_features, cutoffs[0] + clusters)
        self.tails = nn.ModuleList(
            nn.Sequential(
                nn.Linear(in_features, int(in_features // div_value ** (i + 1)), bias=False),
                nn.Linear(
                    int(in_features // div_value ** (i + 1)),
                    cutoffs[i + 1] - cutoffs[i],
                    bias=False,
                ),
            )
            for i in range(clusters)
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_normal_(self.head.weight)
        for tail in self.tails:
            for layer in tail:
                nn.init.xavier_normal_(layer.weight)

    def forward(self, hidden: Tensor, plan: ClusterPlan) -> Tensor:
        """log p(target) of every row of ``hidden`` (``N × d``), fp32, shape ``N``."""
        head = F.log_softmax(self.head(hidden).float(), dim=-1)
        logp = head.gather(1, plan.head_targets[:, None]).squeeze(1)
        for tail, rows, local in zip(self.tails, plan.rows, plan.local, strict=True):
            tail_logp = F.log_softmax(tail(hidden.index_select(0, rows)).float(), dim=-1)
            logp = logp.index_add(0, rows, tail_logp.gather(1, local[:, None]).squeeze(1))
        return logp

    def log_prob(self, hidden: Tensor) -> Tensor:
        """The full ``N × n_classes`` log-probabilities (fp32)."""
        head = F.log_softmax(self.head(hidden).float(), dim=-1)
        shortlist = self.cutoffs[0]
        parts = [head[:, :shortlist]]
        for index, tail in enumerate(self.tails):
            tail_logp = F.log_softmax(tail(hidden).float(), dim=-1)
            parts.append(head[:, shortlist + index : shortlist + index + 1] + tail_logp)
        return torch.cat(parts, dim=1)
