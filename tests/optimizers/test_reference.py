"""Every optimizer against the float64 reference math, over 500 steps.

One parametrized suite (the optax pattern) over the cases of ``optimizers.reference_cases``: the
library runs on float64 parameters through its multi-tensor path, its per-tensor path, and with a
state_dict round trip through ``torch.load(weights_only=True)`` halfway; every step's parameters
must match the reference (``optimizers.reference_math``) to a relative error of 1e-10.
"""

import numpy as np
import pytest

from optimizers import reference_math as ref
from optimizers.reference_cases import (
    ADABOUND_GROUPS,
    ADAM_GROUPS,
    ATOL,
    CASES_BY_NAME,
    RTOL,
    SHAPES,
    STEPS,
    gradient_sequence,
    library_trajectory,
    lr_factor,
    reference_trajectory,
)


@pytest.mark.parametrize(
    "mode",  # make test: the foreach path; the others in make test-all (test_paths compares them)
    [
        "foreach",
        *(pytest.param(m, marks=pytest.mark.slow) for m in ("per_tensor", "state_dict_round_trip")),
    ],
)
@pytest.mark.parametrize("weight_decay", [False, True], ids=["wd_off", "wd_on"])
@pytest.mark.parametrize("case_name", list(CASES_BY_NAME))
def test_matches_float64_reference(case_name: str, weight_decay: bool, mode: str) -> None:
    case = CASES_BY_NAME[case_name]
    expected = reference_trajectory(case_name, weight_decay)
    actual = library_trajectory(case, weight_decay, mode)
    assert np.all(np.isfinite(expected))
    error = np.abs(actual - expected)
    bad = error > RTOL * np.abs(expected) + ATOL
    if bad.any():
        step, coord = np.argwhere(bad)[0]
        pytest.fail(
            f"{case_name} ({'wd on' if weight_decay else 'wd off'}, {mode}): first mismatch at "
            f"step {step + 1}, coordinate {coord}: expected {expected[step, coord]!r}, got "
            f"{actual[step, coord]!r} ({int(bad.sum())} mismatches in all)"
        )


def test_gradient_sequence_exercises_both_adabound_bounds() -> None:
    """Guards the suite's power: the clamp must bind from below and from above at some step."""
    _, grads = gradient_sequence()
    hyper = ADABOUND_GROUPS[0]
    beta1, beta2 = hyper["betas"]
    state: dict = {}
    theta = np.zeros_like(grads[0][0])
    below = above = False
    for t in range(1, STEPS + 1):
        lr = hyper["lr"] * lr_factor(t)
        theta = ref.adabound_update(
            theta, grads[t - 1][0], state, **{**hyper, "lr": lr}, base_lr=hyper["lr"]
        )
        v = state["exp_avg_sq"]
        raw = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t) / (np.sqrt(v) + hyper["eps"])
        lower, upper = ref.adabound_bounds(hyper["final_lr"] * lr / hyper["lr"], hyper["gamma"], t)
        below |= bool((raw < lower).any())
        above |= bool((raw > upper).any())
    assert below and above


def test_gradient_sequence_makes_amsgrad_max_differ_from_v() -> None:
    """Guards the suite's power: AMSGrad's max must differ from v (group 1, β2 = 0.99)."""
    _, grads = gradient_sequence()
    first_of_group_1 = len(SHAPES[0])
    state: dict = {}
    theta = np.zeros_like(grads[0][first_of_group_1])
    for t in range(1, STEPS + 1):
        grad = grads[t - 1][first_of_group_1]
        theta = ref.adam_update(theta, grad, state, **ADAM_GROUPS[1], amsgrad=True)
    assert (state["max_exp_avg_sq"] > 1.5 * state["exp_avg_sq"]).any()
