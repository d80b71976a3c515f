"""The RAdam paper's One Billion Word language model (§5, Fig. 4), as the RAdam repository's
``language-model/`` builds it (``train_1bw.py`` defaults, ``model_word_ada/LM.py``, ``basic.py``,
``adaptive.py``, ``utils.py``):

``Embedding(V, 300)`` → dropout 0.1 → LSTM(300 → 2048) → dropout → LSTM(2048 → 2048) → dropout →
adaptive softmax with cutoffs [4000, 40000, 200000, V + 1] (``AdaptiveSoftmax``). The reference
stacks two single-layer ``nn.LSTM`` units with dropout after each; one two-layer ``nn.LSTM`` with
inter-layer dropout plus dropout on its output is the same function and the same parameters, and
runs as one cuDNN call. Initialisation (``rand_ini``): embedding U(±√(3/300)); each LSTM weight
U(±√(6/(H + fan_in))); both bias vectors zero except the forget-gate slice, set to 1;
adaptive-softmax weights Xavier-normal.

Parameters: ``332·V + 94,912,451`` (``V`` the vocabulary size): 358,344,823 at the benchmark's
793,471-word vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from experiments.models.adaptive_softmax import AdaptiveSoftmax, ClusterPlan

Hidden = tuple[Tensor, Tensor]


class BillionWordLSTM(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        embed_dim: int = 300,
        hidden_size: int = 2048,
        layers: int = 2,
        dropout: float = 0.1,
        cutoffs: Sequence[int] = (4000, 40000, 200000),
        extra_class: bool = True,
    ) -> None:
        super().__init__()
        self.vocab_size, self.hidden_size, self.layers = vocab_size, hidden_size, layers
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_size, layers, dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        classes = vocab_size + 1 if extra_class else vocab_size
        self.softmax = AdaptiveSoftmax(hidden_size, [*cutoffs, classes])
        self.reset_parameters()

    @property
    def cutoffs(self) -> list[int]:
        return self.softmax.cutoffs

    def reset_parameters(self) -> None:
        bound = math.sqrt(3.0 / self.embedding.embedding_dim)
        nn.init.uniform_(self.embedding.weight, -bound, bound)
        hidden = self.hidden_size
        for name, parameter in self.lstm.named_parameters():
            if name.startswith("weight"):
                bound = math.sqrt(6.0 / (hidden + parameter.shape[1]))
                nn.init.uniform_(parameter, -bound, bound)
            else:
                with torch.no_grad():
                    parameter.zero_()
                    parameter[hidden : 2 * hidden] = 1.0
        self.softmax.reset_parameters()

    def forward(
        self,
        inputs: Tensor,
        targets: Tensor,
        hidden: Hidden | None,
        plan: ClusterPlan,
        weights: Tensor | None = None,
    ) -> tuple[Tensor, Tensor, Hidden]:
        """The summed negative log-likelihood of ``targets`` (``T × B``, time-major), a zero
        regulariser, and the new hidden state."""
        embedded = self.dropout(self.embedding(inputs))
        output, hidden = self.lstm(embedded, hidden)
        output = self.dropout(output).reshape(-1, self.hidden_size)
        logp = self.softmax(output, plan)
        nll = -(logp * weights).sum() if weights is not None else -logp.sum()
        return nll, logp.new_zeros(()), hidden

    def log_prob(self, inputs: Tensor, hidden: Hidden | None = None) -> tuple[Tensor, Hidden]:
        """Full log-probabilities ``(T·B) × classes`` of the next token (for checks)."""
        output, hidden = self.lstm(self.dropout(self.embedding(inputs)), hidden)
        return self.softmax.log_prob(self.dropout(output).reshape(-1, self.hidden_size)), hidden
