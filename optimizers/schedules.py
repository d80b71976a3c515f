"""Learning-rate schedules: ``build_schedule(spec, ...)`` turns ``cfg.schedule`` into an LRSchedule.

Convention (docs/papers.md, "Step and epoch indexing"): a schedule is a pure function of the 1-based
index t of the update being applied, t = 1 for the first update. Before update t the loop sets
each param group's lr to ``group_base_lr * schedule.factor(t)``. The factor is
warmup(t) × main(t) × plateau scale: warmup (``optimizers.warmup``) and the main schedule
(``optimizers.decays``) multiply, and the metric-driven ReduceLROnPlateau rule
(``optimizers.plateau``) contributes its current scale.

LambdaLR pitfall: ``torch.optim.lr_scheduler.LambdaLR`` calls its lambda with ``last_epoch``, which
is 0 for the first update (the constructor applies lambda(0); each ``scheduler.step()`` after
``optimizer.step()`` increments it). Driving these schedules through LambdaLR therefore needs
``LambdaLR(opt, lambda s: schedule.factor(s + 1))``; ``factor(0)`` is refused with a ValueError
instead of silently returning the lr of a nonexistent update 0.

Absolute lrs in the spec (``init_lr``, ``warmup_init_lr``, ``min_lr``) become factors through
``base_lr``, the optimizer config's lr; ``null`` lengths default to run quantities (``max_update``
and cosine ``decay_steps`` → ``total_steps``; decay ``decay_steps`` → ``steps_per_epoch``;
``warmup_init_lr`` → ``base_lr``, fairseq's ``-1``: no ramp).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from optimizers import decays, warmup
from optimizers.plateau import PlateauRule
from optimizers.warmup import Factor


class LRSchedule:
    """warmup(t) × main(t) × plateau scale; see the module docstring for the indexing."""

    def __init__(
        self, name: str, main: Factor, warmup_factor: Factor, plateau: PlateauRule | None = None
    ) -> None:
        self.name = name
        self._main = main
        self._warmup = warmup_factor
        self.plateau = plateau

    @property
    def monitor(self) -> str | None:
        return self.plateau.monitor if self.plateau is not None else None

    def factor(self, t: int) -> float:
        t = operator.index(t)
        if t < 1:
            raise ValueError(f"schedule.factor: t is the 1-based update index, got {t}")
        scale = self.plateau.scale if self.plateau is not None else 1.0
        return self._warmup(t) * self._main(t) * scale

    def observe(self, metrics: Mapping[str, float]) -> None:
        if self.plateau is not None:
            self.plateau.observe(metrics)

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"name": self.name}
        if self.plateau is not None:
            state["plateau"] = self.plateau.state_dict()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("name") != self.name:
            raise ValueError(
                f"schedule state is for {state.get('name')!r}, this run's schedule is {self.name!r}"
            )
        if self.plateau is not None:
            self.plateau.load_state_dict(state["plateau"])


class _Spec:
    """Reads typed parameters from a spec dict, naming the schedule and parameter in every error."""

    def __init__(self, where: str, values: Mapping[str, Any]) -> None:
        self.where = where
        self.values = dict(values)
        self.read: set[str] = set()

    def get(self, key: str, kind: type | tuple[type, ...], *, nullable: bool = False) -> Any:
        if key not in self.values:
            raise ValueError(f"{self.where}: missing parameter {key!r}")
        self.read.add(key)
        value = self.values[key]
        if value is None and nullable:
            return None
        # bool is an int subclass: a stray `true` must not pass as a step count.
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise ValueError(f"{self.where}: {key} must be {_kind_name(kind)}, got {value!r}")
        return value

    def number(self, key: str, *, nullable: bool = False) -> float | None:
        value = self.get(key, (int, float), nullable=nullable)
        return None if value is None else float(value)

    def int_list(self, key: str) -> list[int]:
        values = self.get(key, (list, tuple))
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise ValueError(f"{self.where}: {key} must be a list of integers, got {values!r}")
        return list(values)

    def lr(self, key: str, base_lr: float, *, nullable: bool = False) -> float | None:
        """An absolute lr in the spec, returned as a factor of ``base_lr``."""
        value = self.number(key, nullable=nullable)
        if value is None:
            return None
        if value < 0:
            raise ValueError(f"{self.where}: {key} must be >= 0, got {value}")
        return value / base_lr

    def finish(self) -> None:
        unknown = sorted(set(self.values) - self.read)
        if unknown:
            raise ValueError(f"{self.where}: unknown parameters {unknown}")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


@dataclass(frozen=True)
class _Run:
    """The run quantities a spec may refer to."""

    base_lr: float
    steps_per_epoch: int
    total_steps: int
    betas: Sequence[float] | None
    epoch_of: Callable[[int], int] | None = None


def _decay_steps(s: _Spec, run: _Run) -> int:
    value = s.get("decay_steps", int, nullable=True)
    return run.steps_per_epoch if value is None else value


def _init_factor(s: _Spec, run: _Run) -> float:
    value = s.lr("warmup_init_lr", run.base_lr, nullable=True)
    return 1.0 if value is None else value


def _min_factor(s: _Spec, run: _Run) -> float:
    value = s.lr("min_lr", run.base_lr)
    if value > 1.0:
        raise ValueError(
            f"{s.where}: min_lr must be <= the optimizer lr {run.base_lr}, got {s.values['min_lr']}"
        )
    return value


def _plateau(s: _Spec, run: _Run) -> PlateauRule:
    return PlateauRule(
        monitor=s.get("monitor", str),
        base_lr=run.base_lr,
        mode=s.get("mode", str),
        factor=s.number("factor"),
        patience=s.get("patience", int),
        threshold=s.number("threshold"),
        threshold_mode=s.get("threshold_mode", str),
        cooldown=s.get("cooldown", int),
        min_lr=s.number("min_lr"),
        counting=s.get("counting", str),
    )


def _max_update(s: _Spec, run: _Run) -> int:
    value = s.get("max_update", int, nullable=True)
    return run.total_steps if value is None else value


def _cosine_steps(s: _Spec, run: _Run) -> int:
    value = s.get("decay_steps", int, nullable=True)
    return run.total_steps if value is None else value


_MAIN: dict[str, Callable[[_Spec, _Run], Factor | PlateauRule]] = {
    "constant": lambda s, run: decays.constant(),
    "multistep": lambda s, run: decays.multistep(
        s.int_list("milestones"), s.number("gamma"), run.steps_per_epoch, run.epoch_of
    ),
    "exponential_decay": lambda s, run: decays.exponential_decay(
        s.number("decay_rate"), _decay_steps(s, run), s.get("staircase", bool)
    ),
    "natural_exp_decay": lambda s, run: decays.natural_exp_decay(
        s.number("decay_rate"), _decay_steps(s, run), s.get("staircase", bool)
    ),
    "inverse_sqrt_t": lambda s, run: decays.inverse_sqrt_t(),
    "inverse_sqrt": lambda s, run: decays.inverse_sqrt(
        s.get("warmup_updates", int), _init_factor(s, run)
    ),
    "warmup_linear_decay": lambda s, run: decays.warmup_linear_decay(
        s.get("warmup_updates", int), _init_factor(s, run), _min_factor(s, run), _max_update(s, run)
    ),
    "cosine": lambda s, run: decays.cosine(_cosine_steps(s, run), _min_factor(s, run)),
    "plateau": _plateau,
}


def _beta2(name: str, betas: Sequence[float] | None) -> float:
    if betas is None:
        raise ValueError(
            f"warmup {name} reads beta2 from `betas`, but build_schedule got betas=None; "
            "pass the optimizer's betas"
        )
    return float(betas[1])


_WARMUP: dict[str, Callable[[_Spec, _Run], Factor]] = {
    "none": lambda s, run: warmup.no_warmup(),
    "linear": lambda s, run: warmup.linear_warmup(
        s.get("steps", int), s.lr("init_lr", run.base_lr)
    ),
    "untuned_linear": lambda s, run: warmup.untuned_linear_warmup(
        _beta2("untuned_linear", run.betas)
    ),
    "untuned_exponential": lambda s, run: warmup.untuned_exponential_warmup(
        _beta2("untuned_exponential", run.betas)
    ),
}

SCHEDULE_NAMES = tuple(_MAIN)


def build_schedule(
    spec: Mapping[str, Any],
    *,
    base_lr: float,
    steps_per_epoch: int,
    total_steps: int,
    betas: Sequence[float] | None = None,
    epoch_of: Callable[[int], int] | None = None,
) -> LRSchedule:
    """Validate ``spec`` (the plain-dict ``cfg.schedule``) and build its LRSchedule.
    ``epoch_of(t)`` gives the 0-based epoch of update t when epochs differ in length (default:
    ``(t − 1) // steps_per_epoch``).

    Raises ValueError naming the offending parameter and value: unknown schedule or warmup name
    (listing the known ones), a missing, unknown or mistyped parameter, or an out-of-range value.
    """
    if not base_lr > 0:
        raise ValueError(f"build_schedule: base_lr must be > 0, got {base_lr}")
    if steps_per_epoch < 1:
        raise ValueError(f"build_schedule: steps_per_epoch must be >= 1, got {steps_per_epoch}")
    if total_steps < 1:
        raise ValueError(f"build_schedule: total_steps must be >= 1, got {total_steps}")
    run = _Run(base_lr, steps_per_epoch, total_steps, betas, epoch_of)
    values = dict(spec)
    warmup_values = values.pop("warmup", None) or {"name": "none"}
    if not isinstance(warmup_values, Mapping):
        raise ValueError(f"schedule.warmup must be a mapping with a name, got {warmup_values!r}")
    name = _pop_name(values, _MAIN, "schedule")
    warmup_name = _pop_name(dict(warmup_values), _WARMUP, "schedule.warmup")

    main_spec = _Spec(f"schedule {name}", values)
    built = _MAIN[name](main_spec, run)
    main_spec.finish()
    warmup_spec = _Spec(f"schedule.warmup {warmup_name}", warmup_values)
    warmup_spec.read.add("name")
    warmup_factor = _WARMUP[warmup_name](warmup_spec, run)
    warmup_spec.finish()

    if isinstance(built, PlateauRule):
        return LRSchedule(name, decays.constant(), warmup_factor, plateau=built)
    return LRSchedule(name, built, warmup_factor)


def _pop_name(values: dict[str, Any], known: Mapping[str, Any], where: str) -> str:
    name = values.pop("name", None)
    if name not in known:
        raise ValueError(f"{where}: unknown name {name!r}; known: {sorted(known)}")
    return name
