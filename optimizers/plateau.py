"""ReduceLROnPlateau as a metric-driven lr factor, in torch's or in Keras' semantics.

The rule watches one evaluated metric (``monitor``, e.g. ``val/loss``) and multiplies its scale by
``factor`` when the metric stops improving. Both libraries are reproduced exactly, because the
Adam-decay blog used Keras (``tf.keras.callbacks.ReduceLROnPlateau(patience=5)``) and docs/papers.md
(§1, "Warmup and decay schedules") notes two differences from torch:

- **Improvement test** (``threshold_mode``): ``abs`` — better iff ``a < best − threshold`` (mode
  min) or ``a > best + threshold`` (mode max); this is Keras' ``min_delta``. ``rel`` — torch's
  default, ``a < best·(1 − threshold)`` or ``a > best·(1 + threshold)``. Either counting may use
  either test. A NaN metric is never an improvement (every comparison with NaN is false).
- **Counting** (``counting``):
  ``torch`` (``torch.optim.lr_scheduler.ReduceLROnPlateau.step``): count the bad evaluation, then
  if in cooldown decrement the cooldown counter and zero the count; reduce when the count
  *exceeds* ``patience``; a reduction restarts the cooldown and zeroes the count even when the lr
  is already at ``min_lr`` (the lr itself changes only if it drops by more than torch's eps 1e-8).
  ``keras`` (``keras.callbacks.ReduceLROnPlateau.on_epoch_end``): if in cooldown, decrement the
  counter and zero ``wait`` first; then an improvement zeroes ``wait``, and a bad evaluation
  outside cooldown increments it; reduce when ``wait`` *reaches* ``patience`` — one evaluation
  earlier than torch. Keras reduces (and resets ``wait`` and the cooldown) only while the lr is
  above ``min_lr``; at ``min_lr`` nothing happens and ``wait`` keeps growing.

``min_lr`` is an absolute lr; with the optimizer config's ``base_lr`` it bounds the scale from
below by ``min_lr / base_lr`` (param groups with other lrs scale by the same factor).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

COUNTINGS = ("torch", "keras")
MODES = ("min", "max")
THRESHOLD_MODES = ("rel", "abs")
TORCH_EPS = 1e-8


class PlateauRule:
    """ReduceLROnPlateau state machine; ``scale`` is the current multiplier of the base lr."""

    def __init__(
        self,
        *,
        monitor: str,
        base_lr: float,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
        counting: str = "torch",
    ) -> None:
        _check_choice("mode", mode, MODES)
        _check_choice("threshold_mode", threshold_mode, THRESHOLD_MODES)
        _check_choice("counting", counting, COUNTINGS)
        if not monitor or not isinstance(monitor, str):
            raise ValueError(f"plateau: monitor must be a metric name, got {monitor!r}")
        if not base_lr > 0:
            raise ValueError(f"plateau: base_lr must be > 0, got {base_lr}")
        if not 0.0 < factor < 1.0:
            raise ValueError(f"plateau: factor must be in (0, 1), got {factor}")
        if patience < 0:
            raise ValueError(f"plateau: patience must be >= 0, got {patience}")
        if not threshold >= 0:
            raise ValueError(f"plateau: threshold must be >= 0, got {threshold}")
        if cooldown < 0:
            raise ValueError(f"plateau: cooldown must be >= 0, got {cooldown}")
        if not 0.0 <= min_lr <= base_lr:
            raise ValueError(f"plateau: min_lr must be in [0, base_lr={base_lr}], got {min_lr}")
        self.monitor = monitor
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.cooldown = cooldown
        self.counting = counting
        self.base_lr = base_lr
        self.min_scale = min_lr / base_lr
        self.best = math.inf if mode == "min" else -math.inf
        self.bad_count = 0
        self.cooldown_counter = 0
        self.scale = 1.0

    def is_better(self, value: float, best: float) -> bool:
        if self.threshold_mode == "rel":
            if self.mode == "min":
                return value < best * (1.0 - self.threshold)
            return value > best * (1.0 + self.threshold)
        if self.mode == "min":
            return value < best - self.threshold
        return value > best + self.threshold

    def observe(self, metrics: Mapping[str, Any]) -> None:
        """Take one evaluation's metrics (called once per evaluation, Keras'/torch's "epoch")."""
        if self.monitor not in metrics:
            raise KeyError(
                f"plateau schedule monitors {self.monitor!r}, but the evaluation reported only "
                f"{sorted(metrics)}; set schedule.monitor to one of them"
            )
        value = float(metrics[self.monitor])
        if self.counting == "torch":
            self._observe_torch(value)
        else:
            self._observe_keras(value)

    def _observe_torch(self, value: float) -> None:
        if self.is_better(value, self.best):
            self.best = value
            self.bad_count = 0
        else:
            self.bad_count += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.bad_count = 0
        if self.bad_count > self.patience:
            new_scale = max(self.scale * self.factor, self.min_scale)
            if (self.scale - new_scale) * self.base_lr > TORCH_EPS:
                self.scale = new_scale
            self.cooldown_counter = self.cooldown
            self.bad_count = 0

    def _observe_keras(self, value: float) -> None:
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.bad_count = 0
        if self.is_better(value, self.best):
            self.best = value
            self.bad_count = 0
        elif self.cooldown_counter == 0:
            self.bad_count += 1
            if self.bad_count >= self.patience and self.scale > self.min_scale:
                self.scale = max(self.scale * self.factor, self.min_scale)
                self.cooldown_counter = self.cooldown
                self.bad_count = 0

    def state_dict(self) -> dict[str, Any]:
        """Plain python numbers and strings, accepted by ``torch.load(weights_only=True)``."""
        return {
            "counting": self.counting,
            "mode": self.mode,
            "best": float(self.best),
            "bad_count": int(self.bad_count),
            "cooldown_counter": int(self.cooldown_counter),
            "scale": float(self.scale),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for key in ("counting", "mode"):
            if state[key] != getattr(self, key):
                raise ValueError(
                    f"plateau: checkpoint has {key}={state[key]!r}, this run has "
                    f"{key}={getattr(self, key)!r}"
                )
        self.best = float(state["best"])
        self.bad_count = int(state["bad_count"])
        self.cooldown_counter = int(state["cooldown_counter"])
        self.scale = float(state["scale"])


def _check_choice(name: str, value: object, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ValueError(f"plateau: {name} must be one of {list(options)}, got {value!r}")
