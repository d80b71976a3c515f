"""Post-norm Transformer layers (Vaswani et al. 2017, §3.1), as fairseq's
``modules/transformer_layer.py`` (v0.8) builds them with ``--encoder/decoder-normalize-before``
off, the default of ``transformer_iwslt_de_en`` and ``transformer_wmt_en_de``.

Each sub-layer is ``x = LayerNorm(x + dropout(sublayer(x)))``; the feed-forward block is
``fc2(dropout_act(ReLU(fc1(x))))``. Linear layers are Xavier-uniform with zero biases; layer
norms start at weight 1, bias 0 (ε = 1e-5).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from experiments.models.transformer_attention import MultiheadAttention


def xavier_linear(in_features: int, out_features: int) -> nn.Linear:
    layer = nn.Linear(in_features, out_features)
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int, activation_dropout: float) -> None:
        super().__init__()
        self.fc1, self.fc2 = xavier_linear(dim, hidden), xavier_linear(hidden, dim)
        self.activation_dropout = activation_dropout

    def forward(self, x: Tensor) -> Tensor:
        hidden = F.relu(self.fc1(x))
        hidden = F.dropout(hidden, p=self.activation_dropout, training=self.training)
        return self.fc2(hidden)


class EncoderLayer(nn.Module):
    def __init__(
        self, dim: int, ffn_dim: int, heads: int, dropout: float, attention_dropout: float,
        activation_dropout: float,
    ) -> None:  # fmt: skip
        super().__init__()
        self.self_attn = MultiheadAttention(dim, heads, attention_dropout)
        self.self_attn_layer_norm = nn.LayerNorm(dim)
        self.ffn = FeedForward(dim, ffn_dim, activation_dropout)
        self.final_layer_norm = nn.LayerNorm(dim)
        self.dropout = dropout

    def forward(self, x: Tensor, padding_mask: Tensor | None) -> Tensor:
        attended = self.self_attn.self_attention(x, key_padding_mask=padding_mask)
        x = self.self_attn_layer_norm(x + F.dropout(attended, self.dropout, self.training))
        return self.final_layer_norm(x + F.dropout(self.ffn(x), self.dropout, self.training))


class DecoderLayer(nn.Module):
    def __init__(
        self, dim: int, ffn_dim: int, heads: int, dropout: float, attention_dropout: float,
        activation_dropout: float,
    ) -> None:  # fmt: skip
        super().__init__()
        self.self_attn = MultiheadAttention(dim, heads, attention_dropout)
        self.self_attn_layer_norm = nn.LayerNorm(dim)
        self.encoder_attn = MultiheadAttention(dim, heads, attention_dropout)
        self.encoder_attn_layer_norm = nn.LayerNorm(dim)
        self.ffn = FeedForward(dim, ffn_dim, activation_dropout)
        self.final_layer_norm = nn.LayerNorm(dim)
        self.dropout = dropout

    def forward(
        self,
        x: Tensor,
        memory: Tensor,
        memory_padding_mask: Tensor | None,
        cache: dict[str, dict[str, Tensor]] | None = None,
    ) -> Tensor:
        """Without ``cache``: all target positions at once, each seeing itself and earlier ones
        (fairseq passes no target padding mask: pads sit at the end and no loss reads them).
        With ``cache``: ``x`` is the newest position and earlier keys/values come from it."""
        incremental = cache is not None
        attended = self.self_attn.self_attention(
            x, causal=not incremental, cache=cache.setdefault("self", {}) if incremental else None
        )
        x = self.self_attn_layer_norm(x + F.dropout(attended, self.dropout, self.training))
        attended = self.encoder_attn.cross_attention(
            x, memory, memory_padding_mask, cache.setdefault("cross", {}) if incremental else None
        )
        x = self.encoder_attn_layer_norm(x + F.dropout(attended, self.dropout, self.training))
        return self.final_layer_norm(x + F.dropout(self.ffn(x), self.dropout, self.training))
