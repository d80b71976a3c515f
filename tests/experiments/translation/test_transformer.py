"""fairseq's Transformers: parameter counts, the details docs/papers.md §2 lists, fused attention,
and incremental decoding against full recomputation."""

from __future__ import annotations

import copy
import functools
import math

import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate

from experiments.models import transformer_attention
from experiments.models.transformer import DecoderCache, TransformerModel, transformer_wmt_en_de
from experiments.models.transformer_attention import make_positions, sinusoidal_table
from tests.runs_in_process import compose_config

PAD, EOS = 1, 2


@functools.cache
def composed_model_config(task: str):
    return compose_config(f"task={task}").task.model


def task_model_config(task: str, **changes: object):
    """The ``task.model`` node of a task config (composed once per test session)."""
    cfg = copy.deepcopy(composed_model_config(task))
    for key, value in changes.items():
        cfg[key] = value
    return cfg


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def on_meta(cfg, src: int, tgt: int) -> torch.nn.Module:
    """The model of a task config built on the meta device: shapes without initialising."""
    with torch.device("meta"):
        return instantiate(cfg, src_vocab_size=src, tgt_vocab_size=tgt)


@pytest.mark.parametrize(
    ("shared", "expected"), [(False, 31_862_784), (True, 31_756_288)], ids=["separate", "shared"]
)
def test_iwslt_parameter_counts_match_fairseq_at_208_symbols(shared: bool, expected: int) -> None:
    cfg = task_model_config("iwslt14_de_en", share_decoder_input_output_embed=shared)
    assert count(on_meta(cfg, 208, 208)) == expected


def test_iwslt_recipe_default_keeps_decoder_embeddings_separate() -> None:
    """The RAdam recipes pass no --share-decoder-input-output-embed (fairseq's default)."""
    model = on_meta(task_model_config("iwslt14_de_en"), 8848, 6632)
    assert model.decoder.embed_out is not None
    assert count(model) == 42_864_640  # the count in the task config's header
    assert count(on_meta(task_model_config("iwslt14_en_de"), 6632, 8848)) == 43_999_232


def test_wmt_shares_all_embeddings_on_a_joint_dictionary() -> None:
    cfg = task_model_config("wmt16_en_de")
    model = on_meta(cfg, 208, 208)
    assert model.encoder.embed_tokens is model.decoder.embed_tokens
    assert model.decoder.embed_out is None
    # Transformer base: 44,138,496 without embeddings, plus one 208 × 512 table.
    assert count(model) == 44_138_496 + 208 * 512
    assert count(on_meta(cfg, 32768, 32768)) == 60_915_712  # the count in the task header
    with pytest.raises(ValueError, match="joint dictionary"):
        transformer_wmt_en_de(208, 216, share_all_embeddings=True)


def tiny(**options) -> TransformerModel:
    torch.manual_seed(0)
    defaults = dict(embed_dim=16, ffn_dim=32, heads=2, encoder_layers=2, decoder_layers=2)
    return TransformerModel(24, 24, **{**defaults, **options}).eval()


def test_initialisation_follows_fairseq() -> None:
    model = instantiate(task_model_config("iwslt14_de_en"), src_vocab_size=208, tgt_vocab_size=208)
    embedding = model.encoder.embed_tokens.weight
    assert torch.all(embedding[PAD] == 0)
    rest = torch.cat([embedding[:PAD], embedding[PAD + 1 :]])
    assert rest.std().item() == pytest.approx(512**-0.5, rel=0.02)  # N(0, d^-1/2)
    assert model.decoder.embed_out.std().item() == pytest.approx(512**-0.5, rel=0.02)
    attention = model.encoder.layers[0].self_attn
    bound = math.sqrt(6 / (4 * 512))  # Xavier-uniform over the 3d × d in-projection
    assert attention.in_proj_weight.abs().max().item() <= bound
    assert attention.in_proj_weight.abs().max().item() > 0.99 * bound
    assert torch.all(attention.in_proj_bias == 0) and torch.all(attention.out_proj.bias == 0)
    fc1 = model.encoder.layers[0].ffn.fc1.weight
    assert fc1.abs().max().item() <= math.sqrt(6 / (512 + 1024))
    assert model.encoder.embed_scale == math.sqrt(512)
    assert "embed_positions" not in "".join(model.state_dict())  # fixed, not parameters


def test_sinusoidal_positions_start_after_padding_and_ignore_left_padding() -> None:
    table = sinusoidal_table(10, 8, PAD)
    assert torch.all(table[PAD] == 0)
    position, i = 5, 1  # sin of the first half, cos of the second, frequencies 10000^(-i/(d/2-1))
    assert table[position, i].item() == pytest.approx(math.sin(position * 10000 ** (-i / 3)))
    assert table[position, 4 + i].item() == pytest.approx(math.cos(position * 10000 ** (-i / 3)))
    tokens = torch.tensor([[PAD, PAD, 7, 8, EOS], [7, 8, 9, 10, EOS]])
    assert make_positions(tokens, PAD).tolist() == [[1, 1, 2, 3, 4], [2, 3, 4, 5, 6]]
    model = tiny()
    padded = model.encode(torch.tensor([[PAD, PAD, 7, 8, EOS], [5, 6, 7, 8, EOS]]))
    alone = model.encode(torch.tensor([[7, 8, EOS]]))
    torch.testing.assert_close(padded.out[0, 2:], alone.out[0], rtol=1e-5, atol=1e-6)


def test_post_norm_layers_end_the_encoder_and_the_decoder() -> None:
    """No final layer norm: each output is the last layer's final_layer_norm output, so it has
    zero mean and unit variance per position (layer-norm weights 1, biases 0 at init)."""
    model = tiny()
    out = model.encode(torch.tensor([[5, 6, 7, EOS]])).out
    torch.testing.assert_close(out.mean(-1), torch.zeros(1, 4), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.var(-1, unbiased=False), torch.ones(1, 4), atol=1e-3, rtol=0)
    assert not hasattr(model.encoder, "layer_norm") and not hasattr(model.decoder, "layer_norm")


def test_attention_runs_through_scaled_dot_product_attention(monkeypatch) -> None:
    calls = []
    fused = F.scaled_dot_product_attention

    def counted(*args, **kwargs):
        calls.append(kwargs.get("is_causal"))
        return fused(*args, **kwargs)

    monkeypatch.setattr(transformer_attention.F, "scaled_dot_product_attention", counted)
    model = tiny()
    model(torch.tensor([[5, 6, EOS]]), torch.tensor([[EOS, 5, 6]]))
    # 2 encoder self-attentions, then per decoder layer a causal self- and a cross-attention.
    assert calls == [False, False, True, False, True, False]


def test_incremental_decoding_equals_full_recomputation() -> None:
    model = tiny()
    src = torch.tensor([[PAD, 5, 6, 7, EOS], [9, 10, 11, 12, EOS]])
    prev = torch.tensor([[EOS, 5, 8, 9, 13, 4], [EOS, 14, 15, 16, 17, 18]])
    full = model(src, prev)
    encoder_out, cache = model.encode(src), DecoderCache()
    steps = [model.decode(prev[:, : t + 1], encoder_out, cache) for t in range(prev.size(1))]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=1e-5, atol=1e-5)
    # Reordering the cache follows the beams: row 1's state decodes row 1's next token.
    order = torch.tensor([1, 1])
    cache.reorder(order)
    nxt = torch.cat([prev[order], torch.tensor([[3], [3]])], dim=1)
    step = model.decode(nxt, encoder_out.reorder(order), cache)
    expected = model(src[order], nxt)[:, -1:]
    torch.testing.assert_close(step, expected, rtol=1e-5, atol=1e-5)


def test_dropout_is_active_in_training_only() -> None:
    model = tiny(dropout=0.3).train()
    src, prev = torch.tensor([[5, 6, EOS]]), torch.tensor([[EOS, 5, 6]])
    assert not torch.equal(model(src, prev), model(src, prev))
    model.eval()
    assert torch.equal(model(src, prev), model(src, prev))
