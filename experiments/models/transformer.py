"""fairseq's encoder–decoder Transformer: ``transformer_iwslt_de_en`` and ``transformer_wmt_en_de``
(Vaswani et al. 2017; the RAdam paper's translation models, §5.2 and Table 2).

Re-implemented from fairseq's ``models/transformer.py`` (v0.8, August 2019: the release the
RAdam NMT recipes ran on). What is matched:

- post-norm layers, no layer norm after the last encoder or decoder layer, ReLU, attention and
  activation dropout 0 and dropout after the embeddings, each attention and each FFN;
- token embeddings N(0, d^−½) with the pad row zeroed, multiplied by √d, plus sinusoidal
  positions from ``padding_idx + 1`` (``experiments.models.transformer_attention``); 1024
  positions per side;
- the output projection: a separate V × d matrix N(0, d^−½) unless
  ``share_decoder_input_output_embed`` (then the decoder's input embedding);
  ``share_all_embeddings`` (fairseq's ``--share-all-embeddings``, joint dictionary only) uses one
  embedding for the encoder, the decoder and the output;
- ``transformer_iwslt_de_en``: 6 + 6 layers, d = 512, FFN 1024, 4 heads;
  ``transformer_wmt_en_de`` (Transformer base): 6 + 6 layers, d = 512, FFN 2048, 8 heads,
  fairseq's default dropout 0.1.

Parameter counts at a 208/208 dictionary (fairseq's own test figure): 31,862,784 with separate
decoder input and output embeddings (the RAdam recipes pass no sharing flag), 31,756,288 shared.
The layout is batch-first (fairseq is time-first inside: the arithmetic is the same). Decoding
is incremental: ``decode(..., cache=DecoderCache())`` takes the newest target position only and
keeps each layer's keys and values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from experiments.models.transformer_attention import SinusoidalPositions
from experiments.models.transformer_layers import DecoderLayer, EncoderLayer

PADDING_IDX = 1
"""fairseq's dictionary puts ``<pad>`` at index 1 (``<s>`` 0, ``</s>`` 2, ``<unk>`` 3)."""


def token_embedding(num_embeddings: int, dim: int, padding_idx: int) -> nn.Embedding:
    embedding = nn.Embedding(num_embeddings, dim, padding_idx=padding_idx)
    nn.init.normal_(embedding.weight, mean=0.0, std=dim**-0.5)
    with torch.no_grad():
        embedding.weight[padding_idx].zero_()
    return embedding


@dataclass
class EncoderOut:
    """The encoder's output (B × S × d) and its padding mask (B × S, true at pads; None when
    the batch has no padding)."""

    out: Tensor
    padding_mask: Tensor | None

    def reorder(self, order: Tensor) -> EncoderOut:
        mask = None if self.padding_mask is None else self.padding_mask.index_select(0, order)
        return EncoderOut(self.out.index_select(0, order), mask)


@dataclass
class DecoderCache:
    """Keys and values of incremental decoding, one dict per decoder layer (``self`` grows a
    step at a time, ``cross`` is the encoder output's projection, computed once)."""

    layers: list[dict[str, dict[str, Tensor]]] = field(default_factory=list)

    def reorder(self, order: Tensor) -> None:
        """Follow the beams: row i of every cached tensor becomes row ``order[i]``."""
        for layer in self.layers:
            for attention in layer.values():
                for key, tensor in attention.items():
                    attention[key] = tensor.index_select(0, order)


class TransformerEncoder(nn.Module):
    def __init__(
        self, embed_tokens: nn.Embedding, layers: int, ffn_dim: int, heads: int, dropout: float,
        attention_dropout: float, activation_dropout: float, max_positions: int,
    ) -> None:  # fmt: skip
        super().__init__()
        dim = embed_tokens.embedding_dim
        self.embed_tokens, self.padding_idx = embed_tokens, embed_tokens.padding_idx
        self.embed_scale, self.dropout, self.max_positions = math.sqrt(dim), dropout, max_positions
        self.embed_positions = SinusoidalPositions(dim, self.padding_idx, max_positions)
        self.layers = nn.ModuleList(
            EncoderLayer(dim, ffn_dim, heads, dropout, attention_dropout, activation_dropout)
            for _ in range(layers)
        )

    def forward(self, src_tokens: Tensor) -> EncoderOut:
        x = self.embed_scale * self.embed_tokens(src_tokens) + self.embed_positions(src_tokens)
        x = F.dropout(x, p=self.dropout, training=self.training)
        padding_mask = src_tokens.eq(self.padding_idx)
        if not padding_mask.any():
            padding_mask = None
        for layer in self.layers:
            x = layer(x, padding_mask)
        return EncoderOut(x, padding_mask)


class TransformerDecoder(nn.Module):
    def __init__(
        self, embed_tokens: nn.Embedding, layers: int, ffn_dim: int, heads: int, dropout: float,
        attention_dropout: float, activation_dropout: float, max_positions: int,
        share_input_output_embed: bool,
    ) -> None:  # fmt: skip
        super().__init__()
        dim = embed_tokens.embedding_dim
        self.embed_tokens, self.padding_idx = embed_tokens, embed_tokens.padding_idx
        self.embed_scale, self.dropout, self.max_positions = math.sqrt(dim), dropout, max_positions
        self.embed_positions = SinusoidalPositions(dim, self.padding_idx, max_positions)
        self.layers = nn.ModuleList(
            DecoderLayer(dim, ffn_dim, heads, dropout, attention_dropout, activation_dropout)
            for _ in range(layers)
        )
        self.embed_out: nn.Parameter | None = None
        if not share_input_output_embed:
            self.embed_out = nn.Parameter(torch.empty(embed_tokens.num_embeddings, dim))
            nn.init.normal_(self.embed_out, mean=0.0, std=dim**-0.5)

    def forward(
        self, prev_output_tokens: Tensor, encoder_out: EncoderOut, cache: DecoderCache | None = None
    ) -> Tensor:
        """Logits B × T × V for every target position, or B × 1 × V for the newest one when
        ``cache`` is given (``prev_output_tokens`` then holds every token decoded so far)."""
        if cache is None:
            tokens = prev_output_tokens
            positions = self.embed_positions(tokens)
        else:
            tokens = prev_output_tokens[:, -1:]
            positions = self.embed_positions.at_step(tokens.size(0), prev_output_tokens.size(1))
            while len(cache.layers) < len(self.layers):
                cache.layers.append({})
        x = self.embed_scale * self.embed_tokens(tokens) + positions
        x = F.dropout(x, p=self.dropout, training=self.training)
        for index, layer in enumerate(self.layers):
            layer_cache = None if cache is None else cache.layers[index]
            x = layer(x, encoder_out.out, encoder_out.padding_mask, layer_cache)
        weight = self.embed_tokens.weight if self.embed_out is None else self.embed_out
        return F.linear(x, weight)


class TransformerModel(nn.Module):
    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        *,
        embed_dim: int,
        ffn_dim: int,
        heads: int,
        encoder_layers: int = 6,
        decoder_layers: int = 6,
        dropout: float = 0.1,
        attention_dropout: float = 0.0,
        activation_dropout: float = 0.0,
        share_decoder_input_output_embed: bool = False,
        share_all_embeddings: bool = False,
        max_source_positions: int = 1024,
        max_target_positions: int = 1024,
        padding_idx: int = PADDING_IDX,
    ) -> None:
        super().__init__()
        encoder_embed = token_embedding(src_vocab_size, embed_dim, padding_idx)
        if share_all_embeddings:
            if src_vocab_size != tgt_vocab_size:
                raise ValueError(
                    "share_all_embeddings needs one joint dictionary: the source has "
                    f"{src_vocab_size} symbols, the target {tgt_vocab_size}"
                )
            decoder_embed, share_decoder_input_output_embed = encoder_embed, True
        else:
            decoder_embed = token_embedding(tgt_vocab_size, embed_dim, padding_idx)
        common = dict(
            ffn_dim=ffn_dim, heads=heads, dropout=dropout, attention_dropout=attention_dropout,
            activation_dropout=activation_dropout,
        )  # fmt: skip
        self.encoder = TransformerEncoder(
            encoder_embed, encoder_layers, max_positions=max_source_positions, **common
        )
        self.decoder = TransformerDecoder(
            decoder_embed, decoder_layers, max_positions=max_target_positions,
            share_input_output_embed=share_decoder_input_output_embed, **common,
        )  # fmt: skip
        self.padding_idx = padding_idx

    @property
    def max_decoder_positions(self) -> int:
        return self.decoder.max_positions

    @property
    def tgt_vocab_size(self) -> int:
        return self.decoder.embed_tokens.num_embeddings

    def forward(self, src_tokens: Tensor, prev_output_tokens: Tensor) -> Tensor:
        """Teacher-forced logits B × T × V."""
        return self.decoder(prev_output_tokens, self.encoder(src_tokens))

    def encode(self, src_tokens: Tensor) -> EncoderOut:
        return self.encoder(src_tokens)

    def decode(
        self, prev_output_tokens: Tensor, encoder_out: EncoderOut, cache: DecoderCache | None = None
    ) -> Tensor:
        return self.decoder(prev_output_tokens, encoder_out, cache)


def transformer_iwslt_de_en(
    src_vocab_size: int, tgt_vocab_size: int, *, dropout: float = 0.3, **options: object
) -> TransformerModel:
    """fairseq ``transformer_iwslt_de_en`` (dropout 0.3 as the IWSLT recipes pass it)."""
    return TransformerModel(
        src_vocab_size, tgt_vocab_size, embed_dim=512, ffn_dim=1024, heads=4, dropout=dropout,
        **options,
    )  # fmt: skip


def transformer_wmt_en_de(
    src_vocab_size: int, tgt_vocab_size: int, *, dropout: float = 0.1, **options: object
) -> TransformerModel:
    """fairseq ``transformer_wmt_en_de``: Transformer base (dropout defaults to fairseq's 0.1)."""
    return TransformerModel(
        src_vocab_size, tgt_vocab_size, embed_dim=512, ffn_dim=2048, heads=8, dropout=dropout,
        **options,
    )  # fmt: skip
