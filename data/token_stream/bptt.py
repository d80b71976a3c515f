"""The BPTT windows of one training epoch.

AWD-LSTM's variable-length backpropagation through time (Merity et al. 2018, §4.1; ``main.py``
of salesforce/awd-lstm-lm and of the AdaBelief repository's ``PyTorch_Experiments/LSTM``): from
row ``i = 0`` while ``i < rows − 2``, the base length is ``bptt`` with probability 0.95 and
``bptt / 2`` otherwise, the drawn length ``max(5, int(N(base, 5)))``; the window reads
``min(drawn, rows − 1 − i)`` rows and the next starts at ``i + drawn``. The learning rate of that
update is scaled by ``drawn / bptt`` (the drawn length, not the possibly shorter window).

The draws of epoch ``e`` come from a generator seeded by (seed, e) alone, so the number of
windows of every epoch is known before training (the loop's calendar) and a run resumed inside an
epoch reads the same windows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from data.seeding import derive_seed

MIN_LENGTH = 5
HALF_PROBABILITY = 0.05
LENGTH_STD = 5.0


@dataclass(frozen=True)
class Window:
    start: int
    length: int
    drawn: int
    """The drawn BPTT length (the lr scale is drawn / bptt)."""


def random_windows(rows: int, bptt: int, seed: int, epoch: int, salt: str) -> list[Window]:
    """AWD-LSTM's windows over ``rows`` rows for ``epoch`` (module docstring). One uniform and
    one normal number per window, drawn up front (at most ``rows // 5 + 1`` windows)."""
    generator = np.random.default_rng(derive_seed(salt, seed, epoch))
    most = rows // MIN_LENGTH + 1
    uniform = generator.random(most).tolist()
    normal = generator.standard_normal(most).tolist()
    windows: list[Window] = []
    start = 0
    while start < rows - 2:
        index = len(windows)
        base = bptt if uniform[index] >= HALF_PROBABILITY else bptt / 2.0
        drawn = max(MIN_LENGTH, math.trunc(base + LENGTH_STD * normal[index]))
        windows.append(Window(start, min(drawn, rows - 1 - start), drawn))
        start += drawn
    return windows
