"""torchvision's ImageNet ResNet-18, randomly initialised, as used by the RAdam ImageNet runs.

The RAdam repository's ImageNet script (LiyuanLucasLiu/RAdam ``cifar_imagenet/imagenet.py``)
builds ``torchvision.models.resnet18()``; this factory returns the same model from
torchvision's ``torchvision/models/resnet.py`` with ``weights=None`` (no download), 11,689,512
parameters for 1000 classes. torchvision is imported through ``data.torchvision_compat``
because the PyPI wheel does not import next to a CPU-only torch otherwise.
"""

from __future__ import annotations

from torch import nn

from data.torchvision_compat import import_torchvision


def resnet18(num_classes: int = 1000) -> nn.Module:
    """torchvision ResNet-18 (7×7 stem, max-pool, BasicBlock [2, 2, 2, 2]), random weights."""
    torchvision = import_torchvision()
    return torchvision.models.resnet18(weights=None, num_classes=num_classes)
