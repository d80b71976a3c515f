"""Parameter shapes of the benchmark models (the optimizer step only sees shapes).

- ``resnet20``: bearpaw's CIFAR ResNet-20 (16/32/64 channels, BasicBlock, 1×1 conv + BN
  downsampling shortcut): 272,474 parameters in 65 tensors (docs/papers.md §4).
- ``resnet18``: torchvision's ResNet-18: 11,689,512 parameters in 62 tensors.
- ``transformer_iwslt``: fairseq's ``transformer_iwslt_de_en`` (embed 512, FFN 1024, 6 + 6
  layers, post-norm, sinusoidal positions) with IWSLT'14 De-En vocabularies (8,848 German,
  6,632 English), the decoder's output projection tied to its input embedding, and each
  attention's q/k/v projections packed into one tensor as in torch.nn.MultiheadAttention:
  39,469,056 parameters in 182 tensors.
"""

from __future__ import annotations

from collections.abc import Callable

Shape = tuple[int, ...]


def _conv_bn(in_channels: int, out_channels: int, kernel: int) -> list[Shape]:
    return [(out_channels, in_channels, kernel, kernel), (out_channels,), (out_channels,)]


def resnet20_shapes() -> list[Shape]:
    shapes = _conv_bn(3, 16, 3)
    in_channels = 16
    for out_channels in (16, 32, 64):
        for block in range(3):
            shapes += _conv_bn(in_channels, out_channels, 3) + _conv_bn(
                out_channels, out_channels, 3
            )
            if block == 0 and in_channels != out_channels:
                shapes += _conv_bn(in_channels, out_channels, 1)
            in_channels = out_channels
    return shapes + [(10, 64), (10,)]


def resnet18_shapes() -> list[Shape]:
    """Written out, not read from torchvision (the GPU machine may lack it;
    ``tests/bench/test_bench_optimizers.py`` checks them against torchvision's)."""
    shapes: list[Shape] = [(64, 3, 7, 7), (64,), (64,)]
    in_channels = 64
    for stage, width in enumerate((64, 128, 256, 512)):
        for block in range(2):
            shapes += _conv_bn(in_channels, width, 3) + _conv_bn(width, width, 3)
            if stage > 0 and block == 0:
                shapes += _conv_bn(in_channels, width, 1)
            in_channels = width
    return shapes + [(1000, 512), (1000,)]


def _attention(dim: int) -> list[Shape]:
    return [(3 * dim, dim), (3 * dim,), (dim, dim), (dim,)]


def _feed_forward(dim: int, hidden: int) -> list[Shape]:
    return [(hidden, dim), (hidden,), (dim, hidden), (dim,)]


def _layer_norm(dim: int) -> list[Shape]:
    return [(dim,), (dim,)]


def transformer_iwslt_shapes(
    dim: int = 512,
    hidden: int = 1024,
    layers: int = 6,
    source_vocab: int = 8848,
    target_vocab: int = 6632,
) -> list[Shape]:
    shapes: list[Shape] = [(source_vocab, dim), (target_vocab, dim)]
    encoder_layer = (
        _attention(dim) + _layer_norm(dim) + _feed_forward(dim, hidden) + _layer_norm(dim)
    )
    decoder_layer = (
        (_attention(dim) + _layer_norm(dim) + _attention(dim) + _layer_norm(dim))
        + _feed_forward(dim, hidden)
        + _layer_norm(dim)
    )
    return shapes + encoder_layer * layers + decoder_layer * layers


SHAPE_SETS: dict[str, Callable[[], list[Shape]]] = {
    "resnet20": resnet20_shapes,
    "resnet18": resnet18_shapes,
    "transformer_iwslt": transformer_iwslt_shapes,
}
