"""ResNet-18/34 with a CIFAR stem, as used by the AdaBound CIFAR-10 experiments.

Re-implemented from kuangliu/pytorch-cifar ``models/resnet.py``, the file the AdaBound
authors ship as ``demos/cifar10/models/resnet.py`` (Luolc/AdaBound). Compared with the
ImageNet ResNet (torchvision), the stem is a single 3×3 stride-1 convolution to 64 channels
with no max-pool, so a 32×32 image reaches the last stage at 4×4 and is average-pooled by 4.
Downsampling shortcuts are a strided 1×1 convolution + BatchNorm. All layers keep torch's
default initialisation, as the original does.

Parameter names (``conv1``, ``layer1.0.shortcut.0``, ``linear`` …) match the original so its
checkpoints load with ``load_state_dict``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

STAGE_WIDTHS = (64, 128, 256, 512)


class BasicBlock(nn.Module):
    """Two 3×3 conv-BN layers with a residual connection; ReLU after the sum."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class KuangliuResNet(nn.Module):
    """3×3 stem to 64 channels, BasicBlock stages of 64/128/256/512, 4×4 average pool, linear."""

    def __init__(self, blocks_per_stage: Sequence[int], num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, STAGE_WIDTHS[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(STAGE_WIDTHS[0])
        in_channels = STAGE_WIDTHS[0]
        for index, (width, count) in enumerate(zip(STAGE_WIDTHS, blocks_per_stage, strict=True)):
            stride = 1 if index == 0 else 2
            blocks = [BasicBlock(in_channels, width, stride)]
            blocks += [BasicBlock(width, width) for _ in range(count - 1)]
            self.add_module(f"layer{index + 1}", nn.Sequential(*blocks))
            in_channels = width
        self.linear = nn.Linear(STAGE_WIDTHS[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.linear(torch.flatten(F.avg_pool2d(out, 4), 1))


def resnet18(num_classes: int = 10) -> KuangliuResNet:
    """ResNet-18, CIFAR stem: blocks [2, 2, 2, 2]."""
    return KuangliuResNet((2, 2, 2, 2), num_classes)


def resnet34(num_classes: int = 10) -> KuangliuResNet:
    """ResNet-34, CIFAR stem: blocks [3, 4, 6, 3] (the AdaBound paper's CIFAR-10 ResNet)."""
    return KuangliuResNet((3, 4, 6, 3), num_classes)
