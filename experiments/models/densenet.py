"""DenseNet-121 with a CIFAR stem, as used by the AdaBound CIFAR-10 experiments.

Re-implemented from kuangliu/pytorch-cifar ``models/densenet.py``, the file the AdaBound
authors ship as ``demos/cifar10/models/densenet.py`` (Luolc/AdaBound). Architecture of
Huang et al. 2017 (DenseNet-BC) with growth rate 32 and blocks [6, 12, 24, 16], adapted to
32×32 inputs: the stem is one 3×3 convolution to 2·growth channels (no 7×7 conv, no max-pool),
and the 4×4 map after the last block is average-pooled by 4. Each transition halves the
channels (reduction 0.5, floored) and the resolution. A bottleneck layer puts its new
features *before* its input in the concatenation, as the original does. All layers keep
torch's default initialisation.

Parameter names (``conv1``, ``dense1.0.bn1``, ``trans1.conv``, ``bn``, ``linear``) match the
original so its checkpoints load with ``load_state_dict``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class Bottleneck(nn.Module):
    """BN-ReLU-conv1×1(4g)-BN-ReLU-conv3×3(g); output is [new g features, input]."""

    def __init__(self, in_channels: int, growth_rate: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, 4 * growth_rate, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(4 * growth_rate)
        self.conv2 = nn.Conv2d(4 * growth_rate, growth_rate, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return torch.cat([out, x], 1)


class Transition(nn.Module):
    """BN-ReLU-conv1×1 then 2×2 average pooling."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(in_channels)
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.conv(F.relu(self.bn(x))), 2)


class DenseNet(nn.Module):
    """Stem, dense blocks separated by transitions, final BN-ReLU, 4×4 average pool, linear."""

    def __init__(
        self,
        layers_per_block: Sequence[int],
        growth_rate: int = 32,
        reduction: float = 0.5,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        channels = 2 * growth_rate
        self.conv1 = nn.Conv2d(3, channels, 3, padding=1, bias=False)
        self.stage_names: list[str] = []
        for index, count in enumerate(layers_per_block, start=1):
            layers = [Bottleneck(channels + i * growth_rate, growth_rate) for i in range(count)]
            self.add_module(f"dense{index}", nn.Sequential(*layers))
            self.stage_names.append(f"dense{index}")
            channels += count * growth_rate
            if index < len(layers_per_block):
                reduced = int(math.floor(channels * reduction))
                self.add_module(f"trans{index}", Transition(channels, reduced))
                self.stage_names.append(f"trans{index}")
                channels = reduced
        self.bn = nn.BatchNorm2d(channels)
        self.linear = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)
        for name in self.stage_names:
            out = self.get_submodule(name)(out)
        out = F.avg_pool2d(F.relu(self.bn(out)), 4)
        return self.linear(torch.flatten(out, 1))


def densenet121(num_classes: int = 10) -> DenseNet:
    """DenseNet-121 (growth 32, blocks [6, 12, 24, 16]), CIFAR stem."""
    return DenseNet((6, 12, 24, 16), growth_rate=32, num_classes=num_classes)
