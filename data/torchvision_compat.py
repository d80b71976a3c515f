"""Import torchvision on a CPU-only torch.

The torchvision 0.28.0 wheel on PyPI is a CUDA build. Next to the CPU build of torch 2.13.0
its compiled ops fail to register, and ``import torchvision`` raises
``RuntimeError: operator torchvision::nms does not exist`` because the Python side registers
fake kernels for ``nms``/``qnms`` whose schemas were never defined. Defining those two
schemas first lets models, transforms and datasets import; ``torchvision.ops`` stays unusable,
and the suite never needs it.

Where torchvision imports normally (a CUDA torch, a matching CPU build) this does nothing.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import torch

_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_library: torch.library.Library | None = None


def _define_missing_schemas() -> None:
    global _library
    if _library is not None:
        return
    _library = torch.library.Library("torchvision", "DEF")
    for schema in _SCHEMAS:
        _library.define(schema)


def import_torchvision() -> ModuleType:
    """Return the ``torchvision`` module, defining the missing op schemas only if needed."""
    if "torchvision" in sys.modules:
        return sys.modules["torchvision"]
    try:
        return importlib.import_module("torchvision")
    except RuntimeError as error:
        if "torchvision::nms" not in str(error):
            raise
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        _define_missing_schemas()
        return importlib.import_module("torchvision")
