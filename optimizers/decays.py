"""Main lr schedules as pure functions of the 1-based update index t (t = 1: the first update).

Each factory validates its arguments and returns ``factor(t)``, the multiplier of the base lr for
update t. Where the reference code counts differently, the choice is stated here:

- ``exponential_decay`` / ``natural_exp_decay`` (Keras ``ExponentialDecay``, TF1
  ``tf.train.natural_exp_decay``; the Adam-decay blog's formulas): the schedule is evaluated at
  ``optimizer.iterations`` / ``global_step``, the number of updates *already applied*, so update t
  uses step = t − 1: the first update runs at the full lr and a staircase drops after exactly
  ``decay_steps`` updates.
- ``multistep``: epoch milestones are 0-based and take effect at the start of that epoch (torch
  ``MultiStepLR`` stepped once per epoch, as in the RAdam/AdaBound scripts); update t belongs to
  epoch (t − 1) // steps_per_epoch.
- ``inverse_sqrt`` / ``warmup_linear_decay`` (fairseq ``inverse_sqrt``; the RAdam NMT ``linear``
  scheduler): fairseq sets the lr for the next update from ``num_updates`` after each update and
  calls ``step_update(0)`` before the first, so its update t uses t − 1 and its first update runs
  at ``warmup_init_lr`` (0 by default). Here the formulas take t itself: the warmup reaches the
  peak lr on update ``warmup_updates`` and is never 0 on update 1 (docs/papers.md, "Step and epoch
  indexing"); the whole schedule runs one update ahead of fairseq's.
- ``cosine`` (not from the papers; torch ``CosineAnnealingLR`` stepped per update, optax's
  ``cosine_decay_schedule``): uses t − 1, so update 1 has the full lr and ``min_lr`` is reached
  after ``decay_steps`` updates.
- ``inverse_sqrt_t``: Reddi et al. 2018's α_t = α/√t with t 1-based.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from optimizers.warmup import Factor


def constant() -> Factor:
    def factor(t: int) -> float:
        return 1.0

    return factor


def multistep(
    milestones: Sequence[int],
    gamma: float,
    steps_per_epoch: int,
    epoch_of: Callable[[int], int] | None = None,
) -> Factor:
    """lr × gamma^(number of milestones ≤ epoch of update t); repeated milestones count twice.
    The epoch of update t is ``(t − 1) // steps_per_epoch``, or ``epoch_of(t)`` when epochs
    differ in length."""
    if not gamma > 0:
        raise ValueError(f"schedule multistep: gamma must be > 0, got {gamma}")
    if steps_per_epoch < 1:
        raise ValueError(f"schedule multistep: steps_per_epoch must be >= 1, got {steps_per_epoch}")
    for milestone in milestones:
        if milestone < 0:
            raise ValueError(f"schedule multistep: milestones must be >= 0, got {list(milestones)}")
    milestones = sorted(milestones)
    if epoch_of is None:

        def epoch_of(t: int) -> int:
            return (t - 1) // steps_per_epoch

    def factor(t: int) -> float:
        epoch = epoch_of(t)
        return gamma ** sum(1 for m in milestones if m <= epoch)

    return factor


def exponential_decay(decay_rate: float, decay_steps: int, staircase: bool) -> Factor:
    """decay_rate^(step/decay_steps), step = t − 1; staircase floors the exponent (Keras)."""
    if not decay_rate > 0:
        raise ValueError(f"schedule exponential_decay: decay_rate must be > 0, got {decay_rate}")
    _check_positive("exponential_decay", "decay_steps", decay_steps)

    def factor(t: int) -> float:
        return decay_rate ** _exponent(t - 1, decay_steps, staircase)

    return factor


def natural_exp_decay(decay_rate: float, decay_steps: int, staircase: bool) -> Factor:
    """exp(−decay_rate·step/decay_steps), step = t − 1; staircase floors step/decay_steps (TF1)."""
    if not decay_rate >= 0:
        raise ValueError(f"schedule natural_exp_decay: decay_rate must be >= 0, got {decay_rate}")
    _check_positive("natural_exp_decay", "decay_steps", decay_steps)

    def factor(t: int) -> float:
        return math.exp(-decay_rate * _exponent(t - 1, decay_steps, staircase))

    return factor


def inverse_sqrt_t() -> Factor:
    """1/√t (Reddi et al. 2018, Theorem 1's step size α/√t)."""

    def factor(t: int) -> float:
        return 1.0 / math.sqrt(t)

    return factor


def inverse_sqrt(warmup_updates: int, warmup_init_factor: float) -> Factor:
    """fairseq ``inverse_sqrt``: linear warmup from ``warmup_init_factor`` to 1 over
    ``warmup_updates`` updates, then sqrt(warmup_updates / t)."""
    _check_positive("inverse_sqrt", "warmup_updates", warmup_updates)
    _check_init("inverse_sqrt", warmup_init_factor)

    def factor(t: int) -> float:
        if t < warmup_updates:
            return warmup_init_factor + t * (1.0 - warmup_init_factor) / warmup_updates
        return math.sqrt(warmup_updates / t)

    return factor


def warmup_linear_decay(
    warmup_updates: int, warmup_init_factor: float, min_factor: float, max_update: int
) -> Factor:
    """RAdam NMT ``linear``: linear warmup from ``warmup_init_factor`` to 1 over ``warmup_updates``,
    then linear decay reaching ``min_factor`` at t = ``max_update`` (held there afterwards)."""
    _check_positive("warmup_linear_decay", "warmup_updates", warmup_updates)
    _check_init("warmup_linear_decay", warmup_init_factor)
    _check_min_factor("warmup_linear_decay", min_factor)
    if max_update <= warmup_updates:
        raise ValueError(
            f"schedule warmup_linear_decay: max_update must be > warmup_updates "
            f"({warmup_updates}), got {max_update}"
        )
    decay_span = max_update - warmup_updates

    def factor(t: int) -> float:
        if t < warmup_updates:
            return warmup_init_factor + t * (1.0 - warmup_init_factor) / warmup_updates
        remaining = max(0.0, 1.0 - (t - warmup_updates) / decay_span)
        return min_factor + (1.0 - min_factor) * remaining

    return factor


def cosine(decay_steps: int, min_factor: float) -> Factor:
    """min + (1 − min)·(1 + cos(π·min(t − 1, decay_steps)/decay_steps))/2."""
    _check_positive("cosine", "decay_steps", decay_steps)
    _check_min_factor("cosine", min_factor)

    def factor(t: int) -> float:
        progress = min(t - 1, decay_steps) / decay_steps
        return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def _exponent(step: int, decay_steps: int, staircase: bool) -> float:
    return step // decay_steps if staircase else step / decay_steps


def _check_positive(name: str, param: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"schedule {name}: {param} must be >= 1, got {value}")


def _check_init(name: str, init_factor: float) -> None:
    if not init_factor >= 0:
        raise ValueError(f"schedule {name}: warmup_init_lr must be >= 0, got factor {init_factor}")


def _check_min_factor(name: str, min_factor: float) -> None:
    if not 0.0 <= min_factor <= 1.0:
        raise ValueError(
            f"schedule {name}: min_lr must be in [0, base lr], got {min_factor} × base lr"
        )
