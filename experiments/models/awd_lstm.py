"""The Penn Treebank LSTMs of the AdaBelief repository's AdaBound rerun (``PyTorch_Experiments/
LSTM``: AWD-LSTM's ``model.py``, ``weight_drop.py``, ``locked_dropout.py``,
``embed_regularize.py`` and ``main.py``; Merity et al. 2018), configured as its
``run_all_layer{1,2,3}.py`` run them.

``Embedding(V, 400)`` with embedding dropout 0.1 (whole words dropped, the rest scaled) and
locked (variational, one mask for all time steps) input dropout 0.4 → ``layers`` single-layer
LSTMs (1150 units, the last one 400 because the decoder is tied to the embedding; one layer is
therefore LSTM(400 → 400)) with weight dropout 0.5 on each hidden-to-hidden matrix and locked
dropout 0.25 between layers → locked output dropout 0.4 → ``Linear(400, V)`` sharing the
embedding matrix. Initialisation: embedding (= decoder weight) U(±0.1), decoder bias 0, LSTMs at
torch's default.

The loss adds activation regularisation α·mean(ĥ²) on the last layer's dropped output and
temporal activation regularisation β·mean((h_t − h_{t−1})²) on its raw output (α = 2, β = 1):
``forward`` returns them as one ``penalty`` (a per-token mean, added once per token).

``hidden_weights`` reproduces one fact of the rerun's code: its ``WeightDrop`` wraps the dropped
matrix in a new ``nn.Parameter``, which cuts it from the raw weight, so the raw hidden-to-hidden
weights never receive a gradient and stay at their initial values for the whole run
(``frozen``, the default for its numbers); ``trained`` lets the gradient reach them, as AWD-LSTM
intends. Parameters (V = 10,000): 5,293,200 (1 layer), 13,632,400 (2), 24,221,600 (3), either
way (frozen weights are parameters that are never updated).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

HIDDEN_WEIGHTS = ("frozen", "trained")
Hidden = tuple[Tensor, ...]
"""(h_1, c_1, h_2, c_2, …), each ``1 × B × size`` of its layer."""


def locked_dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """One Bernoulli(1 − p) mask per (column, feature), shared by all time steps, scaled."""
    if not training or p == 0.0:
        return x
    mask = x.new_empty(1, x.shape[1], x.shape[2]).bernoulli_(1.0 - p) / (1.0 - p)
    return x * mask


def embedding_dropout(embedding: nn.Embedding, words: Tensor, p: float, training: bool) -> Tensor:
    """Drop whole rows of the embedding matrix with probability p, scale the rest."""
    weight = embedding.weight
    if training and p > 0.0:
        mask = weight.new_empty(weight.shape[0], 1).bernoulli_(1.0 - p) / (1.0 - p)
        weight = weight * mask
    return F.embedding(words, weight)


class WeightDroppedLSTM(nn.Module):
    """A single-layer LSTM whose hidden-to-hidden matrix gets a new dropout mask every forward
    pass (DropConnect, Wan et al. 2013) while training."""

    def __init__(self, input_size: int, hidden_size: int, p: float, hidden_weights: str) -> None:
        super().__init__()
        if hidden_weights not in HIDDEN_WEIGHTS:
            raise ValueError(f"hidden_weights {hidden_weights!r}: one of {HIDDEN_WEIGHTS}")
        self.lstm = nn.LSTM(input_size, hidden_size)
        self.p, self.frozen = p, hidden_weights == "frozen"
        if self.frozen:
            self.lstm.weight_hh_l0.requires_grad_(False)

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor] | None) -> tuple[Tensor, tuple]:
        raw = self.lstm.weight_hh_l0
        dropped = F.dropout(raw.detach() if self.frozen else raw, self.p, self.training)
        return functional_call(self.lstm, {"weight_hh_l0": dropped}, (x, state))


class AWDLSTM(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        layers: int = 3,
        embed_dim: int = 400,
        hidden_size: int = 1150,
        dropout: float = 0.4,
        dropout_hidden: float = 0.25,
        dropout_input: float = 0.4,
        dropout_embedding: float = 0.1,
        weight_drop: float = 0.5,
        tie_weights: bool = True,
        hidden_weights: str = "frozen",
        ar_alpha: float = 2.0,
        tar_beta: float = 1.0,
    ) -> None:
        super().__init__()
        self.layers, self.tie_weights = layers, tie_weights
        self.dropout, self.dropout_hidden = dropout, dropout_hidden
        self.dropout_input, self.dropout_embedding = dropout_input, dropout_embedding
        self.ar_alpha, self.tar_beta = ar_alpha, tar_beta
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        last = embed_dim if tie_weights else hidden_size
        sizes = [hidden_size] * (layers - 1) + [last]
        inputs = [embed_dim, *sizes[:-1]]
        self.rnns = nn.ModuleList(
            WeightDroppedLSTM(n_in, n_out, weight_drop, hidden_weights)
            for n_in, n_out in zip(inputs, sizes, strict=True)
        )
        self.sizes = sizes
        self.decoder = nn.Linear(last, vocab_size)
        if tie_weights:
            self.decoder.weight = self.embedding.weight
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        if not self.tie_weights:
            nn.init.uniform_(self.decoder.weight, -0.1, 0.1)

    def forward(
        self, inputs: Tensor, targets: Tensor, hidden: Hidden | None
    ) -> tuple[Tensor, Tensor, Hidden]:
        """The summed negative log-likelihood of ``targets`` (``T × B``; ``-1`` = no target), the
        AR + TAR penalty (a per-token mean) and the new hidden state."""
        training = self.training
        x = embedding_dropout(self.embedding, inputs, self.dropout_embedding, training)
        x = locked_dropout(x, self.dropout_input, training)
        new_hidden: list[Tensor] = []
        for index, rnn in enumerate(self.rnns):
            state = None if hidden is None else (hidden[2 * index], hidden[2 * index + 1])
            raw, (h, c) = rnn(x, state)
            new_hidden += [h, c]
            last = index == self.layers - 1
            x = raw if last else locked_dropout(raw, self.dropout_hidden, training)
        dropped = locked_dropout(raw, self.dropout, training)
        logits = self.decoder(dropped).float()
        nll = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1,
            reduction="sum",
        )  # fmt: skip
        penalty = logits.new_zeros(())
        if training and self.ar_alpha:
            penalty = penalty + self.ar_alpha * dropped.float().pow(2).mean()
        if training and self.tar_beta and raw.shape[0] > 1:
            penalty = penalty + self.tar_beta * (raw[1:] - raw[:-1]).float().pow(2).mean()
        return nll, penalty, tuple(new_hidden)
