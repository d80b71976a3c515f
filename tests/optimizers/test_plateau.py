"""ReduceLROnPlateau rule: hand-traced metric sequences, and torch parity for counting=torch."""

from __future__ import annotations

import io
import math
from typing import Any

import pytest
import torch

from optimizers.schedules import build_schedule

NAN = float("nan")


def plateau(*, base_lr: float = 1.0, warmup: dict[str, Any] | None = None, **params: Any):
    spec = {
        "name": "plateau",
        "monitor": "val/loss",
        "mode": "min",
        "factor": 0.5,
        "patience": 2,
        "threshold": 0.0,
        "threshold_mode": "abs",
        "cooldown": 0,
        "min_lr": 0.0,
        "counting": "keras",
        **params,
        "warmup": warmup or {"name": "none"},
    }
    return build_schedule(spec, base_lr=base_lr, steps_per_epoch=10, total_steps=1000)


def scales(schedule, values: list[float], key: str = "val/loss") -> list[float]:
    """The factor after each observation (no warmup: factor(t) is the plateau scale)."""
    out = []
    for value in values:
        schedule.observe({key: value})
        out.append(schedule.factor(10_000))
    return out


def test_keras_reduces_one_evaluation_before_torch():
    # patience 2, no improvement after the first evaluation.
    # Keras: wait 1, 2 -> reduce at the 3rd evaluation. torch: bad 1, 2, 3 > 2 -> at the 4th.
    flat = [1.0] * 7
    assert scales(plateau(counting="keras"), flat) == [1, 1, 0.5, 0.5, 0.25, 0.25, 0.125]
    assert scales(plateau(counting="torch"), flat) == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]


@pytest.mark.parametrize("counting", ["keras", "torch"])
def test_absolute_and_relative_thresholds(counting):
    # At loss ≈ 100, improving by 0.005 beats an absolute 1e-4 but not a relative 1e-4 (0.01);
    # improving by 0.02 beats both.
    values = [100.0, 99.995, 99.98]
    common = {"counting": counting, "patience": 0, "threshold": 1e-4, "factor": 0.1}
    assert scales(plateau(threshold_mode="abs", **common), values) == [1, 1, 1]
    rel = scales(plateau(threshold_mode="rel", **common), values)
    assert rel == pytest.approx([1, 0.1, 0.1], rel=1e-15)


def test_keras_cooldown_skips_one_evaluation_fewer_than_torch():
    flat = [1.0] * 7
    # Keras, patience 1, cooldown 2: reduce at 2; at 3 cooldown 2→1 (not counted); at 4 cooldown
    # 1→0 and the evaluation counts again: wait 1 -> reduce; likewise at 6.
    keras = scales(plateau(counting="keras", patience=1, cooldown=2), flat)
    assert keras == [1, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125]
    # torch, patience 1, cooldown 2: bad 1, 2 > 1 -> reduce at 3; 4 and 5 in cooldown (count
    # zeroed); 6 bad 1; 7 bad 2 -> reduce.
    torch_rule = scales(plateau(counting="torch", patience=1, cooldown=2), flat)
    assert torch_rule == [1, 1, 0.5, 0.5, 0.5, 0.5, 0.25]


@pytest.mark.parametrize("counting", ["keras", "torch"])
def test_min_lr_is_absolute_and_bounds_the_factor(counting):
    rule = plateau(counting=counting, patience=0, min_lr=0.03, base_lr=0.1)
    # min_lr/base_lr = 0.3: 1 -> 0.5 -> max(0.25, 0.3) = 0.3, then it stays.
    assert scales(rule, [1.0] * 6) == pytest.approx([1, 0.5, 0.3, 0.3, 0.3, 0.3], rel=1e-15)


def test_keras_at_min_lr_keeps_counting_and_torch_restarts():
    keras = plateau(counting="keras", patience=0, min_lr=0.5)
    scales(keras, [1.0, 1.0, 1.0, 1.0])  # reduce at 2 (wait reset), then wait 1, 2 at min_lr
    assert keras.state_dict()["plateau"]["bad_count"] == 2
    torch_rule = plateau(counting="torch", patience=0, min_lr=0.5)
    scales(torch_rule, [1.0, 1.0, 1.0, 1.0])
    assert torch_rule.state_dict()["plateau"]["bad_count"] == 0


@pytest.mark.parametrize("counting", ["keras", "torch"])
def test_mode_max(counting):
    accuracy = [0.5, 0.6, 0.59, 0.6, 0.6, 0.61]
    # best 0.5, 0.6 (better), then 0.59, 0.6, 0.6 are not better than 0.6 + 1e-4; 0.61 is.
    # patience 2: Keras reduces at the 2nd bad evaluation (4th), torch at the 3rd (5th).
    rule = plateau(mode="max", threshold=1e-4, counting=counting, monitor="val/acc")
    got = scales(rule, accuracy, key="val/acc")
    expected = [1, 1, 1, 0.5, 0.5, 0.5] if counting == "keras" else [1, 1, 1, 1, 0.5, 0.5]
    assert got == expected
    assert rule.state_dict()["plateau"]["best"] == 0.61


@pytest.mark.parametrize("counting", ["keras", "torch"])
def test_nan_is_not_an_improvement(counting):
    rule = plateau(counting=counting, patience=1)
    got = scales(rule, [1.0, NAN, NAN, 0.5])
    # patience 1: Keras reduces at each NaN (wait 1), torch at the second (bad 2 > 1).
    assert got == ([1, 0.5, 0.25, 0.25] if counting == "keras" else [1, 1, 0.5, 0.5])
    assert rule.state_dict()["plateau"]["best"] == 0.5


def test_plateau_multiplies_the_warmup():
    rule = plateau(patience=0, warmup={"name": "linear", "steps": 10, "init_lr": 0.0})
    scales(rule, [1.0, 1.0])
    assert rule.factor(4) == pytest.approx(0.4 * 0.5, rel=1e-15)


def test_missing_monitor_key_names_the_monitor():
    rule = plateau()
    with pytest.raises(KeyError, match=r"val/loss.*\['val/acc'\]"):
        rule.observe({"val/acc": 0.9})


def test_pure_schedules_ignore_observations():
    schedule = build_schedule(
        {"name": "constant", "warmup": {"name": "none"}},
        base_lr=1.0,
        steps_per_epoch=1,
        total_steps=1,
    )
    schedule.observe({"val/loss": 1.0})
    schedule.observe({})
    assert schedule.factor(1) == 1.0


def sequence(n: int, seed: int) -> list[float]:
    """A noisy, mostly decreasing loss with plateaus, a rise and a NaN."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.rand(n, generator=generator, dtype=torch.float64).tolist()
    values = [2.0 / (1 + i // 4) + 0.05 * u for i, u in enumerate(noise)]
    values[n // 2] = NAN
    values[n // 3] = 10.0
    return values


TORCH_CASES = [
    {"mode": "min", "threshold_mode": "rel", "threshold": 1e-4, "patience": 2, "cooldown": 0},
    {"mode": "min", "threshold_mode": "abs", "threshold": 0.01, "patience": 1, "cooldown": 2},
    {"mode": "min", "threshold_mode": "rel", "threshold": 0.05, "patience": 0, "cooldown": 1},
    {"mode": "max", "threshold_mode": "rel", "threshold": 1e-3, "patience": 3, "cooldown": 1},
    {"mode": "max", "threshold_mode": "abs", "threshold": 0.0, "patience": 1, "cooldown": 0},
]


@pytest.mark.parametrize("case", TORCH_CASES)
@pytest.mark.parametrize("min_lr", [0.0, 2e-3])
def test_torch_counting_matches_torch_reduce_lr_on_plateau(case, min_lr):
    base_lr = 0.1
    values = sequence(60, seed=7)
    param = torch.nn.Parameter(torch.zeros(()))
    optimizer = torch.optim.SGD([param], lr=base_lr)
    reference = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=0.3, min_lr=min_lr, **case
    )
    rule = plateau(counting="torch", factor=0.3, min_lr=min_lr, base_lr=base_lr, **case)
    for value in values:
        reference.step(value)
        rule.observe({"val/loss": value})
        assert base_lr * rule.factor(1) == pytest.approx(optimizer.param_groups[0]["lr"], rel=1e-12)
    assert optimizer.param_groups[0]["lr"] < base_lr * 0.3  # the sequence forces reductions


def round_trip(state: dict[str, Any]) -> dict[str, Any]:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize("counting", ["keras", "torch"])
def test_state_dict_round_trip_mid_run_continues_identically(counting):
    params = {"counting": counting, "patience": 1, "cooldown": 2, "threshold": 0.01}
    values = sequence(30, seed=3)
    uninterrupted = plateau(**params)
    expected = scales(uninterrupted, values)
    first = plateau(**params)
    head = scales(first, values[:13])
    state = round_trip(first.state_dict())
    resumed = plateau(**params)
    resumed.load_state_dict(state)
    assert head + scales(resumed, values[13:]) == expected
    assert min(expected) < 0.25  # reductions happen on both sides of the cut
    assert expected[12] > min(expected)


def test_initial_state_with_infinite_best_survives_weights_only_load():
    state = round_trip(plateau().state_dict())
    assert state["plateau"]["best"] == math.inf
    plateau().load_state_dict(state)


def test_loading_a_state_with_other_counting_is_refused():
    state = plateau(counting="torch").state_dict()
    with pytest.raises(ValueError, match="counting"):
        plateau(counting="keras").load_state_dict(state)
