"""Start-up of a training process: seeds, deterministic algorithms, and the workarounds that keep
torch's own imports out of a run that compiles nothing (each saves seconds at every run start)."""

from __future__ import annotations

import random
import sys

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    set_deterministic(deterministic)
    torch.backends.cudnn.benchmark = not deterministic


def set_deterministic(mode: bool) -> None:
    """``torch.use_deterministic_algorithms(mode, warn_only=True)`` without its import of
    ``torch._inductor`` (≈ 1.5–3 s at every run start) when nothing compiles: it sets the same
    global flag; a compiled run sets inductor's copy of it where it compiles (``train``)."""
    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None or "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(mode, warn_only=True)
    else:
        setter(mode, warn_only=True)


def defer_dynamo_import() -> None:
    """Let torch's optimizers run without importing ``torch._dynamo`` (≈ 2–4 s at every run
    start on a 2-core machine) in a run that compiles nothing. ``Optimizer.add_param_group``,
    ``state_dict``, ``load_state_dict`` and ``zero_grad`` are wrapped by ``torch._disable_dynamo``,
    which imports dynamo at the first call to cache ``dynamo.disable(fn)`` on
    ``fn.__dynamo_disable``; outside a compiled region that disabled copy only calls ``fn``, so
    caching ``fn`` itself changes nothing. Skipped once dynamo is imported (a compiled run, or
    torch's own SGD, whose step imports it anyway)."""
    if "torch._dynamo" in sys.modules:
        return
    for name in ("add_param_group", "state_dict", "load_state_dict", "zero_grad"):
        function = getattr(getattr(torch.optim.Optimizer, name), "__wrapped__", None)
        if function is not None and not hasattr(function, "__dynamo_disable"):
            setattr(function, "__dynamo_disable", function)
