"""Schedules against values computed by hand from the formulas (docs/papers.md §1, docstrings)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from omegaconf import OmegaConf

from optimizers.schedules import SCHEDULE_NAMES, build_schedule
from tests.runs_in_process import compose_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
NO_WARMUP = {"name": "none"}


def make(spec: dict[str, Any], *, warmup: dict[str, Any] = NO_WARMUP, **run: Any):
    run = {"base_lr": 1.0, "steps_per_epoch": 10, "total_steps": 1000, **run}
    return build_schedule({**spec, "warmup": warmup}, **run)


def test_constant_is_one_everywhere():
    schedule = make({"name": "constant"})
    assert [schedule.factor(t) for t in (1, 2, 10**6)] == [1.0, 1.0, 1.0]
    assert schedule.monitor is None


def test_multistep_milestones_act_at_the_start_of_the_0_based_epoch():
    # steps_per_epoch 10: updates 1..810 are epochs 0..80; update 811 starts epoch 81.
    schedule = make({"name": "multistep", "milestones": [81, 122], "gamma": 0.1})
    assert schedule.factor(1) == 1.0
    assert schedule.factor(810) == 1.0
    assert schedule.factor(811) == pytest.approx(0.1, rel=1e-15)
    assert schedule.factor(1220) == pytest.approx(0.1, rel=1e-15)
    assert schedule.factor(1221) == pytest.approx(0.01, rel=1e-14)


def test_exponential_decay_uses_the_number_of_updates_already_applied():
    staircase = make(
        {"name": "exponential_decay", "decay_rate": 0.5, "decay_steps": 10, "staircase": True}
    )
    # step = t - 1: updates 1..10 see steps 0..9 -> 0.5^0; update 11 sees step 10 -> 0.5^1.
    assert [staircase.factor(t) for t in (1, 10, 11, 20, 21)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    smooth = make(
        {"name": "exponential_decay", "decay_rate": 0.5, "decay_steps": 10, "staircase": False}
    )
    assert smooth.factor(1) == 1.0
    assert smooth.factor(6) == pytest.approx(0.7071067811865476, rel=1e-14)  # 0.5^(5/10)
    assert smooth.factor(11) == pytest.approx(0.5, rel=1e-14)


def test_decay_steps_null_means_one_epoch_of_updates():
    spec = {"name": "exponential_decay", "decay_rate": 0.5, "decay_steps": None, "staircase": True}
    schedule = make(spec, steps_per_epoch=25)
    assert schedule.factor(25) == 1.0
    assert schedule.factor(26) == 0.5


def test_natural_exp_decay():
    spec = {"name": "natural_exp_decay", "decay_rate": 0.5, "decay_steps": 10}
    smooth = make({**spec, "staircase": False})
    assert smooth.factor(1) == 1.0
    assert smooth.factor(11) == pytest.approx(0.6065306597126334, rel=1e-14)  # e^-0.5
    assert smooth.factor(16) == pytest.approx(0.4723665527410147, rel=1e-14)  # e^-0.75
    staircase = make({**spec, "staircase": True})
    assert staircase.factor(20) == pytest.approx(0.6065306597126334, rel=1e-14)
    assert staircase.factor(21) == pytest.approx(0.36787944117144233, rel=1e-14)  # e^-1


def test_inverse_sqrt_t():
    schedule = make({"name": "inverse_sqrt_t"})
    assert [schedule.factor(t) for t in (1, 4, 100)] == [1.0, 0.5, 0.1]


def test_inverse_sqrt_fairseq():
    schedule = make({"name": "inverse_sqrt", "warmup_updates": 4000, "warmup_init_lr": 0.0})
    assert schedule.factor(1) == pytest.approx(1 / 4000, rel=1e-14)  # never 0 on update 1
    assert schedule.factor(2000) == pytest.approx(0.5, rel=1e-14)
    assert schedule.factor(4000) == 1.0
    assert schedule.factor(16000) == pytest.approx(0.5, rel=1e-14)  # sqrt(4000/16000)
    # warmup_init_lr is absolute: 1e-4 with lr 5e-4 starts the ramp at 0.2.
    ramp = make(
        {"name": "inverse_sqrt", "warmup_updates": 4000, "warmup_init_lr": 1e-4}, base_lr=5e-4
    )
    assert ramp.factor(2000) == pytest.approx(0.2 + 2000 * 0.8 / 4000, rel=1e-12)


def test_warmup_linear_decay_radam_nmt_recipe():
    lr = 3e-4
    spec = {
        "name": "warmup_linear_decay",
        "warmup_updates": 4000,
        "warmup_init_lr": 1e-8,
        "min_lr": 1e-9,
        "max_update": 70000,
    }
    schedule = make(spec, base_lr=lr)
    assert lr * schedule.factor(1) == pytest.approx(8.49975e-8, rel=1e-12)  # 1e-8 + 2.99990e-4/4000
    assert lr * schedule.factor(4000) == pytest.approx(3e-4, rel=1e-14)
    # halfway through the decay: (37000 - 4000) / 66000 = 0.5
    assert lr * schedule.factor(37000) == pytest.approx(1.500005e-4, rel=1e-12)
    assert lr * schedule.factor(70000) == pytest.approx(1e-9, rel=1e-9)
    assert lr * schedule.factor(80000) == pytest.approx(1e-9, rel=1e-9)
    # max_update null: the run's total steps.
    short = make({**spec, "max_update": None}, base_lr=lr, total_steps=8000)
    assert lr * short.factor(6000) == pytest.approx(1e-9 + (3e-4 - 1e-9) * 0.5, rel=1e-12)
    # The RAdam runs: warmup_updates 1, warmup_init_lr = lr (null): full lr on update 1.
    radam = make({**spec, "warmup_updates": 1, "warmup_init_lr": None}, base_lr=lr)
    assert radam.factor(1) == 1.0


def fairseq_inverse_sqrt(num_updates: int, lr: float, warmup: int, init: float) -> float:
    """fairseq ``InverseSquareRootSchedule.step_update(num_updates)``, from its formula."""
    if num_updates < warmup:
        return init + num_updates * (lr - init) / warmup
    return lr * math.sqrt(warmup) / math.sqrt(num_updates)


def radam_linear(num_updates: int, lr: float, warmup: int, init: float, min_lr: float,
                 max_update: int) -> float:  # fmt: skip
    """The RAdam repository's ``nmt/my_module/linear_schedule.py`` ``step_update``."""
    if num_updates < warmup:
        return init + num_updates * (lr - init) / warmup
    return (lr - min_lr) * (1 - (num_updates - warmup) / (max_update - warmup)) + min_lr


NMT_UPDATES = [1, 2, 3, 999, 3999, 4000, 4001, 12345, 35000, 69999, 70000]


@pytest.mark.parametrize(
    ("warmup", "init", "lr", "max_update"),
    [(4000, 1e-8, 3e-4, 70000), (1, None, 3e-4, 70000), (1, None, 3.086e-4, 72000)],
    ids=["adam_warmup", "radam_adam_eps", "adam_2k"],
)
def test_warmup_linear_decay_is_the_radam_schedule_one_update_ahead(warmup, init, lr, max_update):
    """fairseq sets the lr of the next update from ``num_updates`` after each update (and from
    0 before the first), so its update t runs at step_update(t − 1); here update t runs at
    step_update(t): the same curve, one update earlier (docs/papers.md, step indexing)."""
    spec = {"name": "warmup_linear_decay", "warmup_updates": warmup, "warmup_init_lr": init,
            "min_lr": 1e-9, "max_update": None}  # fmt: skip
    schedule = make(spec, base_lr=lr, total_steps=max_update)
    start = lr if init is None else init  # --warmup-init-lr -1 (unset) means lr
    for t in [*NMT_UPDATES, max_update]:
        expected = radam_linear(t, lr, warmup, start, 1e-9, max_update)
        assert lr * schedule.factor(t) == pytest.approx(expected, rel=1e-12, abs=1e-20)


@pytest.mark.parametrize(("init", "lr"), [(0.0, 5e-4), (1e-7, 5e-4)], ids=["default", "1e-7"])
def test_inverse_sqrt_is_fairseq_one_update_ahead(init: float, lr: float) -> None:
    """fairseq's IWSLT example (warmup from 0, its default) and Scaling NMT (from 1e-7)."""
    spec = {"name": "inverse_sqrt", "warmup_updates": 4000, "warmup_init_lr": init}
    schedule = make(spec, base_lr=lr)
    for t in [*NMT_UPDATES, 300000]:
        expected = fairseq_inverse_sqrt(t, lr, 4000, init)
        assert lr * schedule.factor(t) == pytest.approx(expected, rel=1e-12, abs=1e-20)


def test_cosine():
    schedule = make({"name": "cosine", "min_lr": 0.0, "decay_steps": None}, total_steps=1000)
    assert schedule.factor(1) == 1.0
    assert schedule.factor(501) == pytest.approx(0.5, rel=1e-14)
    assert schedule.factor(1001) == pytest.approx(0.0, abs=1e-15)
    assert schedule.factor(5000) == pytest.approx(0.0, abs=1e-15)
    floor = make({"name": "cosine", "min_lr": 0.01, "decay_steps": 1000}, base_lr=0.1)
    assert floor.factor(501) == pytest.approx(0.55, rel=1e-14)


def test_linear_warmup_radam_cifar_adamw():
    lr = 0.1
    warm = {"name": "linear", "steps": 100, "init_lr": 1e-6}
    schedule = make({"name": "constant"}, warmup=warm, base_lr=lr)
    assert lr * schedule.factor(1) == pytest.approx(1.00099e-3, rel=1e-12)  # 1e-6 + (0.1-1e-6)/100
    assert lr * schedule.factor(50) == pytest.approx(0.0500005, rel=1e-12)
    assert schedule.factor(100) == 1.0
    from_zero = make({"name": "constant"}, warmup={**warm, "init_lr": 0.0}, base_lr=lr)
    assert from_zero.factor(1) == pytest.approx(0.01, rel=1e-14)


def test_untuned_warmups_read_beta2():
    betas = (0.9, 0.999)
    linear = make({"name": "constant"}, warmup={"name": "untuned_linear"}, betas=betas)
    assert linear.factor(1) == pytest.approx(5e-4, rel=1e-12)
    assert linear.factor(1000) == pytest.approx(0.5, rel=1e-12)
    assert linear.factor(2000) == pytest.approx(1.0, rel=1e-12)
    assert linear.factor(3000) == 1.0
    expo = make({"name": "constant"}, warmup={"name": "untuned_exponential"}, betas=betas)
    assert expo.factor(1) == pytest.approx(9.995001666250085e-4, rel=1e-12)  # 1 - e^-0.001
    assert expo.factor(1000) == pytest.approx(0.6321205588285577, rel=1e-9)  # 1 - e^-1


@pytest.mark.parametrize("kind", ["untuned_linear", "untuned_exponential"])
def test_untuned_warmup_without_betas_is_refused(kind):
    with pytest.raises(ValueError, match="betas"):
        make({"name": "constant"}, warmup={"name": kind})


def test_warmup_and_main_schedule_multiply():
    spec = {"name": "exponential_decay", "decay_rate": 0.5, "decay_steps": 10, "staircase": False}
    schedule = make(spec, warmup={"name": "linear", "steps": 10, "init_lr": 0.0})
    assert schedule.factor(5) == pytest.approx(0.5 * 0.757858283255199, rel=1e-12)  # 5/10 · 0.5^0.4


def test_factor_takes_the_1_based_update_index():
    schedule = make({"name": "constant"})
    with pytest.raises(ValueError, match="1-based"):
        schedule.factor(0)
    with pytest.raises(TypeError):
        schedule.factor(1.5)


def test_lambda_lr_needs_the_shift_by_one():
    # LambdaLR evaluates its lambda at last_epoch = 0 for the first update.
    param = torch.nn.Parameter(torch.zeros(()))
    optimizer = torch.optim.SGD([param], lr=1.0)
    schedule = make({"name": "constant"}, warmup={"name": "linear", "steps": 4, "init_lr": 0.0})
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: schedule.factor(s + 1))
    used = []
    for _ in range(5):
        used.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert used == [0.25, 0.5, 0.75, 1.0, 1.0]


def test_pure_schedule_state_round_trip():
    schedule = make({"name": "constant"})
    state = schedule.state_dict()
    assert state == {"name": "constant"}
    make({"name": "constant"}).load_state_dict(state)
    with pytest.raises(ValueError, match="inverse_sqrt_t"):
        make({"name": "inverse_sqrt_t"}).load_state_dict(state)


PLATEAU = {
    "name": "plateau",
    "monitor": "val/loss",
    "mode": "min",
    "factor": 0.1,
    "patience": 10,
    "threshold": 1e-4,
    "threshold_mode": "abs",
    "cooldown": 0,
    "min_lr": 0.0,
    "counting": "keras",
}
MULTISTEP = {"name": "multistep", "milestones": [81, 122], "gamma": 0.1}
DECAY = {"name": "exponential_decay", "decay_rate": 0.5, "decay_steps": 10, "staircase": False}
LINEAR_DECAY = {
    "name": "warmup_linear_decay",
    "warmup_updates": 40,
    "warmup_init_lr": 0.0,
    "min_lr": 0.0,
    "max_update": 100,
}


@pytest.mark.parametrize(
    ("spec", "warmup", "match"),
    [
        ({"name": "linear_decay"}, NO_WARMUP, r"unknown name 'linear_decay'.*'multistep'"),
        ({"name": "constant"}, {"name": "exp"}, r"unknown name 'exp'.*'untuned_linear'"),
        ({**MULTISTEP, "gamma": 0.0}, NO_WARMUP, "gamma must be > 0, got 0.0"),
        ({**MULTISTEP, "gamma": -0.1}, NO_WARMUP, "gamma must be > 0, got -0.1"),
        ({**MULTISTEP, "milestones": [81, -1]}, NO_WARMUP, r"milestones must be >= 0"),
        ({**MULTISTEP, "milestones": [1.5]}, NO_WARMUP, "milestones must be a list of integers"),
        ({**MULTISTEP, "gama": 0.1}, NO_WARMUP, r"unknown parameters \['gama'\]"),
        ({"name": "multistep", "gamma": 0.1}, NO_WARMUP, "missing parameter 'milestones'"),
        ({**DECAY, "decay_steps": 0}, NO_WARMUP, "decay_steps must be >= 1, got 0"),
        ({**DECAY, "decay_rate": 0}, NO_WARMUP, "decay_rate must be > 0, got 0"),
        ({**DECAY, "staircase": "yes"}, NO_WARMUP, "staircase must be bool"),
        ({**DECAY, "decay_steps": True}, NO_WARMUP, "decay_steps must be int"),
        ({**LINEAR_DECAY, "max_update": 40}, NO_WARMUP, "max_update must be > warmup_updates"),
        ({**LINEAR_DECAY, "min_lr": 2.0}, NO_WARMUP, "min_lr must be <= the optimizer lr"),
        ({**LINEAR_DECAY, "warmup_init_lr": -1}, NO_WARMUP, "warmup_init_lr must be >= 0"),
        (
            {"name": "inverse_sqrt", "warmup_updates": 0, "warmup_init_lr": 0.0},
            NO_WARMUP,
            "warmup_updates must be >= 1, got 0",
        ),
        (
            {"name": "constant"},
            {"name": "linear", "steps": -5, "init_lr": 0.0},
            "steps must be >= 0, got -5",
        ),
        ({"name": "constant"}, {"name": "linear", "steps": 5}, "missing parameter 'init_lr'"),
        ({"name": "constant"}, {"name": "none", "steps": 5}, r"unknown parameters \['steps'\]"),
        ({**PLATEAU, "factor": 1.0}, NO_WARMUP, r"factor must be in \(0, 1\), got 1.0"),
        ({**PLATEAU, "factor": 0.0}, NO_WARMUP, r"factor must be in \(0, 1\), got 0.0"),
        ({**PLATEAU, "patience": -1}, NO_WARMUP, "patience must be >= 0, got -1"),
        ({**PLATEAU, "cooldown": -2}, NO_WARMUP, "cooldown must be >= 0, got -2"),
        ({**PLATEAU, "threshold": -1e-4}, NO_WARMUP, "threshold must be >= 0"),
        ({**PLATEAU, "min_lr": 3.0}, NO_WARMUP, "min_lr must be in"),
        ({**PLATEAU, "mode": "auto"}, NO_WARMUP, r"mode must be one of \['min', 'max'\]"),
        ({**PLATEAU, "threshold_mode": "relative"}, NO_WARMUP, "threshold_mode must be one of"),
        ({**PLATEAU, "counting": "tf"}, NO_WARMUP, r"counting must be one of \['torch', 'keras'\]"),
    ],
)
def test_invalid_specs_are_refused_naming_the_parameter(spec, warmup, match):
    with pytest.raises(ValueError, match=match):
        make(spec, warmup=warmup, betas=(0.9, 0.999))


def test_invalid_run_quantities_are_refused():
    with pytest.raises(ValueError, match="base_lr must be > 0"):
        make({"name": "constant"}, base_lr=0.0)
    with pytest.raises(ValueError, match="steps_per_epoch must be >= 1"):
        make({"name": "constant"}, steps_per_epoch=0)


def compose_schedule(*overrides: str) -> dict[str, Any]:
    cfg = compose_config(*overrides, config_name=None)
    return OmegaConf.to_container(cfg.schedule, resolve=True)


def test_every_schedule_name_has_a_config_file():
    files = {p.stem for p in (CONFIGS / "schedule").glob("*.yaml")}
    assert files == set(SCHEDULE_NAMES)


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_schedule_config_composes_and_builds(name):
    spec = compose_schedule(f"+schedule={name}")
    assert spec["name"] == name
    assert spec["warmup"] == {"name": "none"}
    schedule = build_schedule(
        spec, base_lr=1e-3, steps_per_epoch=100, total_steps=100_000, betas=(0.9, 0.999)
    )
    assert schedule.factor(1) > 0
    assert schedule.monitor == ("val/loss" if name == "plateau" else None)


@pytest.mark.parametrize(
    ("warmup", "expected_first"),
    [
        ("none", 1.0),
        ("linear", (1e-6 + (1e-3 - 1e-6) / 100) / 1e-3),
        ("untuned_linear", 5e-4),
        ("untuned_exponential", -math.expm1(-1e-3)),
    ],
)
def test_warmup_configs_compose_and_build(warmup, expected_first):
    spec = compose_schedule("+schedule=multistep", f"schedule/warmup={warmup}")
    assert spec["warmup"]["name"] == warmup
    schedule = build_schedule(
        spec, base_lr=1e-3, steps_per_epoch=100, total_steps=100_000, betas=(0.9, 0.999)
    )
    assert schedule.factor(1) == pytest.approx(expected_first, rel=1e-12)


def test_warmup_steps_override_from_the_command_line():
    spec = compose_schedule("+schedule=cosine", "schedule/warmup=linear", "schedule.warmup.steps=7")
    assert spec["warmup"] == {"name": "linear", "steps": 7, "init_lr": 1e-6}
    schedule = build_schedule(spec, base_lr=1e-3, steps_per_epoch=10, total_steps=1000)
    assert (
        schedule.factor(6)
        < schedule.factor(7)
        == pytest.approx(0.5 * (1 + math.cos(math.pi * 6 / 1000)), rel=1e-12)
    )
