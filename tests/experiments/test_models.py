"""Image models: parameter counts against docs/papers.md §4, forward/backward at the real input
size."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import pytest
import torch
from torch import nn

from experiments.models import cifar_resnet, densenet, imagenet_resnet, kuangliu_resnet, lenet5


class Spec(NamedTuple):
    factory: Callable[..., nn.Module]
    parameters: int  # docs/papers.md §4, counted from independent re-implementations
    side: int  # the input images are side × side × 3
    classes: int  # the factory's default number of classes


MODELS = {
    "cifar_resnet20": Spec(cifar_resnet.resnet20, 272_474, 32, 10),
    "cifar_resnet32": Spec(cifar_resnet.resnet32, 466_906, 32, 10),
    "cifar_resnet44": Spec(cifar_resnet.resnet44, 661_338, 32, 10),
    "cifar_resnet56": Spec(cifar_resnet.resnet56, 855_770, 32, 10),
    "cifar_resnet110": Spec(cifar_resnet.resnet110, 1_730_714, 32, 10),
    "kuangliu_resnet18": Spec(kuangliu_resnet.resnet18, 11_173_962, 32, 10),
    "kuangliu_resnet34": Spec(kuangliu_resnet.resnet34, 21_282_122, 32, 10),
    "densenet121": Spec(densenet.densenet121, 6_956_298, 32, 10),
    "lenet5": Spec(lenet5.lenet5, 62_006, 32, 10),
    "imagenet_resnet18": Spec(imagenet_resnet.resnet18, 11_689_512, 224, 1000),
}


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", MODELS)
def test_parameter_count_matches_published_architecture(name: str) -> None:
    spec = MODELS[name]
    assert count_parameters(spec.factory()) == spec.parameters


@pytest.mark.parametrize("name", MODELS)
def test_forward_at_real_input_size_gives_finite_logits(name: str) -> None:
    spec = MODELS[name]
    torch.manual_seed(0)
    model = spec.factory().eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, spec.side, spec.side))
    assert out.shape == (2, spec.classes)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("factory", [cifar_resnet.resnet20, lenet5.lenet5])
def test_backward_reaches_every_parameter(factory: Callable[..., nn.Module]) -> None:
    torch.manual_seed(0)
    model = factory()
    loss = nn.functional.cross_entropy(model(torch.randn(2, 3, 32, 32)), torch.tensor([3, 7]))
    loss.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


def test_num_classes_sets_the_output_width() -> None:
    model = cifar_resnet.cifar_resnet(20, num_classes=100).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 100)
    assert count_parameters(model) == 272_474 + 90 * (64 + 1)


@pytest.mark.parametrize("depth", [0, 2, 21, 27])
def test_cifar_resnet_rejects_depth_not_6n_plus_2(depth: int) -> None:
    with pytest.raises(ValueError, match="6n\\+2"):
        cifar_resnet.cifar_resnet(depth)


def test_cifar_resnet_uses_bearpaw_initialisation() -> None:
    """Convs ~ N(0, 2/(k·k·out_channels)); BatchNorm weight 1, bias 0."""
    torch.manual_seed(0)
    model = cifar_resnet.resnet110()
    convs = [m for m in model.layer3.modules() if isinstance(m, nn.Conv2d)]
    weights = torch.cat([m.weight.flatten() for m in convs if m.kernel_size == (3, 3)])
    # The 36 3×3 convs of the last stage, 64 outputs each: ~1.3M samples of N(0, 2/576).
    assert weights.std().item() == pytest.approx(math.sqrt(2 / (9 * 64)), rel=0.01)
    assert weights.mean().abs().item() < 1e-3
    shortcut = model.layer3[0].downsample[0].weight  # 1×1, 32 → 64: 2048 samples of N(0, 2/64)
    assert shortcut.std().item() == pytest.approx(math.sqrt(2 / 64), rel=0.1)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            assert torch.equal(module.weight, torch.ones_like(module.weight))
            assert torch.equal(module.bias, torch.zeros_like(module.bias))


def test_lenet5_keras_initialisation_is_glorot_uniform_with_zero_bias() -> None:
    model = lenet5.lenet5()
    first_fc = model.classifier[0]
    bound = math.sqrt(6 / (400 + 120))  # Glorot uniform: U(−√(6/(fan_in+fan_out)), +…)
    assert first_fc.weight.abs().max() <= bound
    assert first_fc.weight.abs().max() > 0.95 * bound
    assert torch.equal(first_fc.bias, torch.zeros(120))


def test_channels_last_input_gives_the_same_logits() -> None:
    torch.manual_seed(0)
    model = cifar_resnet.resnet20().eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        reference = model(x)
        channels_last = model.to(memory_format=torch.channels_last)(
            x.to(memory_format=torch.channels_last)
        )
    torch.testing.assert_close(channels_last, reference, rtol=1e-4, atol=1e-5)
