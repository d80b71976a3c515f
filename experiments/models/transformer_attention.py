"""Multi-head attention and sinusoidal positions of fairseq's Transformer (Vaswani et al. 2017,
§3.2 and §3.5), written for ``torch.nn.functional.scaled_dot_product_attention``.

Re-implemented from fairseq's ``modules/multihead_attention.py`` and
``modules/sinusoidal_positional_embedding.py`` (v0.8, the version behind the RAdam paper's
numbers). What follows that code:

- one ``in_proj_weight`` of shape 3d × d holds the query, key and value projections (rows
  ``[0, d)``, ``[d, 2d)``, ``[2d, 3d)``), Xavier-uniform over the whole 3d × d matrix, so each
  projection is uniform in ±√(6 / 4d) (later fairseq splits the matrix and uses gain 1/√2 per
  projection: the same distribution); biases start at 0; the output projection is
  Xavier-uniform with a zero bias;
- the query is scaled by head_dim^−½ (``scaled_dot_product_attention``'s default scale);
- encoder–decoder attention projects the query with the first d rows and the encoder output with
  the other 2d, and caches those keys and values once per sentence while decoding;
- positions count non-pad tokens from ``padding_idx + 1`` (pads get ``padding_idx``, whose
  table row is zero); the table concatenates the sin half and the cos half with frequencies
  10000^(−i / (d/2 − 1)).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def make_positions(tokens: Tensor, padding_idx: int) -> Tensor:
    """Position numbers of the non-pad tokens, from ``padding_idx + 1``; pads get
    ``padding_idx`` (fairseq ``utils.make_positions``): a left-padded sentence starts at the same
    position as an unpadded one."""
    mask = tokens.ne(padding_idx).int()
    return (torch.cumsum(mask, dim=1) * mask).long() + padding_idx


def sinusoidal_table(num_positions: int, dim: int, padding_idx: int | None) -> Tensor:
    """``num_positions`` × ``dim`` sinusoids: sin of the first half of the frequencies, then cos
    (fairseq ``SinusoidalPositionalEmbedding.get_embedding``); the row of ``padding_idx`` is 0."""
    half = dim // 2
    frequencies = torch.exp(torch.arange(half, dtype=torch.float) * -(math.log(10000) / (half - 1)))
    angles = torch.arange(num_positions, dtype=torch.float).unsqueeze(1) * frequencies.unsqueeze(0)
    table = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    if dim % 2 == 1:
        table = torch.cat([table, torch.zeros(num_positions, 1)], dim=1)
    if padding_idx is not None:
        table[padding_idx] = 0
    return table


class SinusoidalPositions(nn.Module):
    """Fixed sinusoidal position embeddings (not parameters; not in the state dict), grown on
    demand for longer inputs as fairseq does."""

    def __init__(self, dim: int, padding_idx: int, max_positions: int) -> None:
        super().__init__()
        self.dim, self.padding_idx = dim, padding_idx
        table = sinusoidal_table(max_positions + padding_idx + 1, dim, padding_idx)
        self.register_buffer("table", table, persistent=False)

    def _rows(self, needed: int) -> Tensor:
        if needed > self.table.size(0):
            self.table = sinusoidal_table(needed, self.dim, self.padding_idx).to(self.table.device)
        return self.table

    def forward(self, tokens: Tensor) -> Tensor:
        """B × T × dim embeddings of ``tokens``' positions."""
        positions = make_positions(tokens, self.padding_idx)
        table = self._rows(self.padding_idx + 1 + tokens.size(1))
        return table[positions]

    def at_step(self, batch: int, length: int) -> Tensor:
        """B × 1 × dim: the embedding of position ``length`` (the newest of ``length`` decoded
        tokens, none of them pad), for incremental decoding."""
        table = self._rows(self.padding_idx + 1 + length)
        return table[self.padding_idx + length].expand(batch, 1, -1)


class MultiheadAttention(nn.Module):
    """fairseq's multi-head attention with fused scaled-dot-product kernels; ``cache`` (a dict
    per layer and attention) holds the keys and values of incremental decoding."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.in_proj_bias)
        nn.init.xavier_uniform_(self.out_proj.weight)
        nn.init.zeros_(self.out_proj.bias)

    def _split(self, x: Tensor) -> Tensor:
        """B × T × d → B × heads × T × head_dim."""
        batch, length, _ = x.shape
        return x.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)

    def _attend(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, causal: bool) -> Tensor:
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0,
            is_causal=causal,
        )  # fmt: skip
        batch, _, length, _ = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, self.embed_dim))

    def self_attention(
        self,
        x: Tensor,
        key_padding_mask: Tensor | None = None,
        causal: bool = False,
        cache: dict[str, Tensor] | None = None,
    ) -> Tensor:
        """Attention of ``x`` (B × T × d) over itself. ``key_padding_mask`` (B × T, true at pads)
        hides pad keys; ``causal`` hides later positions; with ``cache`` the keys and values of
        earlier steps are prepended (and the new ones stored), and ``x`` is the newest step."""
        q, k, v = (
            self._split(part)
            for part in F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        )
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        mask = None if key_padding_mask is None else ~key_padding_mask[:, None, None, :]
        return self._attend(q, k, v, mask, causal)

    def cross_attention(
        self,
        x: Tensor,
        memory: Tensor,
        key_padding_mask: Tensor | None,
        cache: dict[str, Tensor] | None = None,
    ) -> Tensor:
        """Attention of ``x`` (B × T × d) over the encoder output ``memory`` (B × S × d); its
        keys and values are computed once and kept in ``cache`` while decoding."""
        d = self.embed_dim
        q = self._split(F.linear(x, self.in_proj_weight[:d], self.in_proj_bias[:d]))
        if cache is not None and "k" in cache:
            k, v = cache["k"], cache["v"]
        else:
            kv = F.linear(memory, self.in_proj_weight[d:], self.in_proj_bias[d:])
            k, v = (self._split(part) for part in kv.chunk(2, dim=-1))
            if cache is not None:
                cache["k"], cache["v"] = k, v
        mask = None if key_padding_mask is None else ~key_padding_mask[:, None, None, :]
        return self._attend(q, k, v, mask, causal=False)
