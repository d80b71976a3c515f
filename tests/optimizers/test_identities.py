"""Identities between algorithms and facts docs/papers.md §1 states, checked through the library.

Each test feeds explicit gradient sequences (open loop) in float64 and compares the library's
parameters, state or diagnostics with a formula or with another optimizer of the library.
"""

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch

import optimizers
from optimizers import reference_math as ref

RTOL = 1e-10


def random_gradients(steps: int, shape: tuple[int, ...], seed: int) -> list[torch.Tensor]:
    """Gradients with a nonzero mean and per-coordinate scales spanning four decades."""
    generator = torch.Generator().manual_seed(seed)
    scale = 10.0 ** (4.0 * torch.rand(shape, generator=generator, dtype=torch.float64) - 3.0)
    mean = torch.randn(shape, generator=generator, dtype=torch.float64)
    return [
        scale * (mean + torch.randn(shape, generator=generator, dtype=torch.float64))
        for _ in range(steps)
    ]


def run(
    optimizer_factory: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    grads: list[torch.Tensor],
    initial: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.optim.Optimizer, torch.Tensor]:
    """Feed ``grads`` to a fresh optimizer on one parameter; returns (param, optimizer, history)."""
    param = (torch.zeros_like(grads[0]) if initial is None else initial.clone()).requires_grad_()
    optimizer = optimizer_factory([param])
    history = []
    for grad in grads:
        param.grad = grad.clone()
        optimizer.step()
        history.append(param.detach().clone())
    return param, optimizer, torch.stack(history)


def momentum_on_m_hat(grads: list[torch.Tensor], lr: float, beta1: float) -> torch.Tensor:
    """docs/papers.md §1: θ ← θ − η·m/(1−β1^t), with m = β1 m + (1−β1) g (from θ = 0)."""
    theta, m, rows = torch.zeros_like(grads[0]), torch.zeros_like(grads[0]), []
    for t, grad in enumerate(grads, start=1):
        m = beta1 * m + (1.0 - beta1) * grad
        theta = theta - lr * m / (1.0 - beta1**t)
        rows.append(theta)
    return torch.stack(rows)


@pytest.mark.parametrize("rule", [(5.0, False), (5.0, True), (4.0, True), (4.0, False)], ids=str)
@pytest.mark.parametrize("beta2", [0.6, 0.5, 0.3])
def test_radam_with_small_beta2_is_sgd_with_momentum_on_m_hat(
    beta2: float, rule: tuple[float, bool]
) -> None:
    """docs/papers.md §1: β2 ≤ 0.6 gives ρ∞ ≤ 4, so RAdam is SGD with momentum throughout.

    Edge case (β2 = 0.6, ρ_t ≥ 4): ρ∞ = 4 exactly, and ρ_t equals ρ∞ in float64 once β2^t is
    negligible (t ≳ 80); r_t would then be 0/0 (ρ∞ − 4 = 0), so the fallback must still apply.
    """
    threshold, strict = rule
    grads = random_gradients(300, (7,), seed=1)
    _, optimizer, history = run(
        lambda p: optimizers.RAdam(
            p, lr=1e-2, betas=(0.9, beta2), threshold=threshold, strict_threshold=strict
        ),
        grads,
    )
    torch.testing.assert_close(history, momentum_on_m_hat(grads, 1e-2, 0.9), rtol=RTOL, atol=0)
    assert not optimizer.rectification(0)["rectified"]


@pytest.mark.parametrize(
    ("threshold", "strict", "first_rectified"),
    [(5.0, False, 6), (5.0, True, 6), (4.0, False, 5), (4.0, True, 5)],
)
def test_radam_first_rectified_step(threshold: float, strict: bool, first_rectified: int) -> None:
    """docs/papers.md lines 17 and 22: at β2 = 0.999 the code rules rectify from t = 6, the paper's
    ρ_t > 4 from t = 5. Checked on the trajectory: every earlier step is the momentum fallback,
    the first rectified step is not, and equals the rectified update of line 19."""
    lr, beta1, beta2, eps = 1e-2, 0.9, 0.999, 1e-8
    grads = random_gradients(8, (5,), seed=2)
    _, optimizer, history = run(
        lambda p: optimizers.RAdam(
            p, lr=lr, betas=(beta1, beta2), eps=eps, threshold=threshold, strict_threshold=strict
        ),
        grads,
    )
    fallback = momentum_on_m_hat(grads, lr, beta1)
    before = first_rectified - 1
    torch.testing.assert_close(history[:before], fallback[:before], rtol=RTOL, atol=0)
    m = torch.zeros(5, dtype=torch.float64)
    v = torch.zeros(5, dtype=torch.float64)
    for grad in grads[:first_rectified]:
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
    t = first_rectified
    rho_inf, rho_t = ref.radam_rho(beta2, t)
    r_t = ref.radam_rectifier(rho_inf, rho_t)
    step = lr * r_t * math.sqrt(1 - beta2**t) / (1 - beta1**t) * m / (v.sqrt() + eps)
    momentum_step = lr * m / (1 - beta1**t)
    actual_step = history[before - 1] - history[before]
    torch.testing.assert_close(actual_step, step, rtol=RTOL, atol=0)
    assert not torch.allclose(actual_step, momentum_step, rtol=1e-3, atol=0)


@pytest.mark.parametrize("strict", [True, False])
def test_radam_strict_threshold_decides_at_equality(strict: bool) -> None:
    """docs/papers.md §1: ρ_t > threshold (strict) against ρ_t ≥ threshold. With β2 = 0.75,
    ρ∞ = 7 exactly and ρ_t equals 7.0 in float64 once 2tβ2^t is below half an ulp of 7 (t ≥ 150
    with a wide margin): with threshold 7 the strict rule never rectifies, the other rectifies
    there with r_t = 1, i.e. the update η·√(1−β2^t)/(1−β1^t)·m/(√v + ε) (line 19)."""
    lr, beta1, beta2, eps, steps = 1e-2, 0.9, 0.75, 1e-8, 300
    grads = random_gradients(steps, (5,), seed=12)
    _, _, history = run(
        lambda p: optimizers.RAdam(
            p, lr=lr, betas=(beta1, beta2), eps=eps, threshold=7.0, strict_threshold=strict
        ),
        grads,
    )
    fallback_step = momentum_on_m_hat(grads, lr, beta1)
    if strict:
        torch.testing.assert_close(history, fallback_step, rtol=RTOL, atol=0)
        return
    m = torch.zeros(5, dtype=torch.float64)
    v = torch.zeros(5, dtype=torch.float64)
    for grad in grads:
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
    adam_step = lr * math.sqrt(1 - beta2**steps) / (1 - beta1**steps) * m / (v.sqrt() + eps)
    torch.testing.assert_close(history[-2] - history[-1], adam_step, rtol=1e-9, atol=0)


def test_radam_rho_values_match_the_paper() -> None:
    """docs/papers.md §1: ρ_1 = 1; for β2 = 0.999, ρ_4 ≈ 3.998, ρ_5 ≈ 4.996, ρ_6 ≈ 5.994."""
    grads = random_gradients(6, (3,), seed=3)
    param = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    optimizer = optimizers.RAdam([param], betas=(0.9, 0.999))
    seen = {}
    for t, grad in enumerate(grads, start=1):
        param.grad = grad
        optimizer.step()
        seen[t] = optimizer.rectification(0)
    assert seen[1]["rho_t"] == pytest.approx(1.0, abs=1e-9)
    for t, printed in ((4, 3.998), (5, 4.996), (6, 5.994)):
        assert seen[t]["step"] == t
        assert seen[t]["rho_t"] == pytest.approx(printed, abs=1e-3)
    assert [seen[t]["rectified"] for t in range(1, 7)] == [False] * 5 + [True]
    assert seen[5]["r_t"] is None
    rho_inf = 2 / (1 - 0.999) - 1
    rho_6 = seen[6]["rho_t"]
    expected_r6 = math.sqrt(
        (rho_6 - 4) * (rho_6 - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_6)
    )
    assert seen[6]["r_t"] == pytest.approx(expected_r6, rel=1e-12)


@pytest.mark.parametrize("degenerated_to_sgd", [True, False])
def test_radam_effective_lr_in_each_regime(degenerated_to_sgd: bool) -> None:
    """API note: η/(1−β1^t) in the fallback, 0 when skipped, the rectified factor afterwards."""
    lr, beta1, beta2, eps = 1e-2, 0.9, 0.999, 1e-8
    grads = random_gradients(6, (4,), seed=4)
    param = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    optimizer = optimizers.RAdam(
        [param], lr=lr, betas=(beta1, beta2), eps=eps, degenerated_to_sgd=degenerated_to_sgd
    )
    v = torch.zeros(4, dtype=torch.float64)
    for t, grad in enumerate(grads, start=1):
        param.grad = grad
        optimizer.step()
        v = beta2 * v + (1 - beta2) * grad**2
        factor = optimizer.effective_lr(param)
        if t < 6:
            expected = lr / (1 - beta1**t) if degenerated_to_sgd else 0.0
            torch.testing.assert_close(factor, torch.full_like(v, expected), rtol=RTOL, atol=0)
        else:
            rho_inf, rho_t = ref.radam_rho(beta2, t)
            r_t = ref.radam_rectifier(rho_inf, rho_t)
            expected = lr * r_t * math.sqrt(1 - beta2**t) / (1 - beta1**t) / (v.sqrt() + eps)
            torch.testing.assert_close(factor, expected, rtol=RTOL, atol=0)


@pytest.mark.parametrize("amsbound", [False, True])
def test_adabound_with_bounds_that_never_bind_is_adam_with_eps_on_sqrt_v(amsbound: bool) -> None:
    """docs/architecture.md ("Testing and speed") / docs/papers.md §1: γ = 1e-12, final_lr = 1 keep
    the clamp inside [≤5e-10, ≥2e9], so AdaBound is Adam in the sqrt_v form with coupled L2.
    ε = 1e-4 makes the ε placement visible: the torch form must differ."""
    grads = random_gradients(400, (9,), seed=5)
    initial = torch.linspace(-1.0, 1.0, 9, dtype=torch.float64)
    common = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-4, "weight_decay": 1e-2}
    _, _, bound = run(
        lambda p: optimizers.AdaBound(p, final_lr=1.0, gamma=1e-12, amsbound=amsbound, **common),
        grads,
        initial,
    )
    _, _, adam = run(
        lambda p: optimizers.Adam(p, eps_mode="sqrt_v", amsgrad=amsbound, **common), grads, initial
    )
    _, _, torch_form = run(
        lambda p: optimizers.Adam(p, eps_mode="sqrt_v_hat", amsgrad=amsbound, **common),
        grads,
        initial,
    )
    torch.testing.assert_close(bound, adam, rtol=RTOL, atol=1e-14)
    assert not torch.allclose(bound, torch_form, rtol=1e-6, atol=0)


def test_adabound_gamma_zero_has_no_upper_bound() -> None:
    """API note: γ = 0 means lower = 0 and upper = +∞, i.e. the unbounded Adam (sqrt_v form).
    Tiny gradients make the raw step huge, so γ = 1e-3 would clip it: the two must differ."""
    grads = [g * 1e-9 for g in random_gradients(200, (6,), seed=6)]
    common = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8}
    _, _, gamma_zero = run(lambda p: optimizers.AdaBound(p, gamma=0.0, **common), grads)
    _, _, adam = run(lambda p: optimizers.Adam(p, eps_mode="sqrt_v", **common), grads)
    _, _, bounded = run(lambda p: optimizers.AdaBound(p, gamma=1e-3, **common), grads)
    assert torch.isfinite(gamma_zero).all()
    torch.testing.assert_close(gamma_zero, adam, rtol=RTOL, atol=1e-14)
    assert not torch.allclose(gamma_zero, bounded, rtol=1e-3, atol=0)


def test_amsbound_denominator_never_decreases() -> None:
    """docs/papers.md §1: v_max = max(v_max, v) — monotone even when v itself shrinks."""
    shrinking = [g * 10.0 * math.exp(-t / 30) for t, g in enumerate(random_gradients(300, (8,), 7))]
    param = torch.zeros(8, dtype=torch.float64, requires_grad=True)
    optimizer = optimizers.AMSBound([param])
    previous_max = torch.zeros(8, dtype=torch.float64)
    running_max = torch.zeros(8, dtype=torch.float64)
    v_decreased = False
    previous_v = torch.zeros(8, dtype=torch.float64)
    for grad in shrinking:
        param.grad = grad
        optimizer.step()
        state = optimizer.state[param]
        v, v_max = state["exp_avg_sq"], state["max_exp_avg_sq"]
        running_max = torch.maximum(running_max, v)
        assert (v_max >= previous_max).all()
        torch.testing.assert_close(v_max, running_max, rtol=0, atol=0)
        v_decreased |= bool((v < previous_v).any())
        previous_max, previous_v = v_max.clone(), v.clone()
    assert v_decreased


ADABOUND_TABLE = {1: (1e-4, 100.1), 100: (0.0091, 1.1), 1000: (0.05, 0.2), 10000: (0.0909, 0.11)}


def test_adabound_bound_values_match_the_paper_table() -> None:
    """docs/papers.md §1 (γ = 1e-3, f = 0.1). A zero gradient makes the raw step η·…/ε huge (the
    clamp returns the upper bound); a 1e6 gradient makes it ~1e-9 (the clamp returns the lower
    bound). The table is printed to 2-3 significant digits; the exact formula (line 45) is
    checked to 1e-12."""
    param = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    optimizer = optimizers.AdaBound([param], lr=1e-3, final_lr=0.1, gamma=1e-3)
    grad = torch.tensor([0.0, 1e6], dtype=torch.float64)
    for t in range(1, max(ADABOUND_TABLE) + 1):
        param.grad = grad
        optimizer.step()
        if t in ADABOUND_TABLE:
            upper, lower = optimizer.effective_lr(param).tolist()
            assert (lower, upper) == pytest.approx(ADABOUND_TABLE[t], rel=2e-3)
            exact_lower = 0.1 * (1 - 1 / (1e-3 * t + 1))
            exact_upper = 0.1 * (1 + 1 / (1e-3 * t))
            assert (lower, upper) == pytest.approx((exact_lower, exact_upper), rel=1e-12)


def test_adabound_bounds_follow_the_scheduled_lr() -> None:
    """docs/papers.md §1: f = final_lr · lr / base_lr: halving the group lr halves both bounds."""
    param = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    optimizer = optimizers.AdaBound([param], lr=1e-3, final_lr=0.1, gamma=1e-3)
    grad = torch.tensor([0.0, 1e6], dtype=torch.float64)
    for t in range(1, 101):
        optimizer.param_groups[0]["lr"] = 1e-3 if t < 100 else 5e-4
        param.grad = grad
        optimizer.step()
    upper, lower = optimizer.effective_lr(param).tolist()
    expected = (0.05 * (1 - 1 / (0.1 + 1)), 0.05 * (1 + 1 / 0.1))
    assert (lower, upper) == pytest.approx(expected, rel=1e-12)


def test_rmsprop_update_is_adam_with_beta1_zero_without_bias_correction() -> None:
    """docs/architecture.md: RMSprop is Adam with β1 = 0 and no bias correction. Our Adam always
    corrects, so trajectories cannot be equal; the identity that holds is per step: with β1 = 0
    (m = g, 1−β1^t = 1) and the sqrt_v form, Adam's update is √(1−β2^t) times torch RMSprop's
    (α = β2), because both keep the same uncorrected v from the same gradients."""
    beta2, lr, eps = 0.9, 1e-3, 1e-8
    grads = random_gradients(200, (6,), seed=8)
    _, _, adam = run(
        lambda p: optimizers.Adam(p, lr=lr, betas=(0.0, beta2), eps=eps, eps_mode="sqrt_v"), grads
    )
    _, _, rmsprop = run(lambda p: optimizers.RMSprop(p, lr=lr, alpha=beta2, eps=eps), grads)
    zero = torch.zeros(1, 6, dtype=torch.float64)
    adam_steps = torch.diff(torch.cat([zero, adam]), dim=0)
    rms_steps = torch.diff(torch.cat([zero, rmsprop]), dim=0)
    t = torch.arange(1, 201, dtype=torch.float64).unsqueeze(1)
    corrected = adam_steps / torch.sqrt(1 - beta2**t)
    torch.testing.assert_close(corrected, rms_steps, rtol=1e-9, atol=1e-15)


def test_adam2k_freezes_m_and_theta_then_is_adam_by_global_step() -> None:
    """docs/papers.md §1: for t ≤ K only v moves (no decay either); afterwards the sqrt_v Adam
    with bias correction by the global t, i.e. Adam resumed from (t = K, m = 0, v = v_K)."""
    freeze, steps = 20, 80
    hyper = {"lr": 1e-2, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.1}
    grads = random_gradients(steps, (5,), seed=9)
    initial = torch.linspace(0.5, 1.5, 5, dtype=torch.float64)
    param = initial.clone().requires_grad_()
    optimizer = optimizers.Adam2k([param], freeze_steps=freeze, **hyper)
    beta2 = hyper["betas"][1]
    v = torch.zeros(5, dtype=torch.float64)
    for grad in grads[:freeze]:
        param.grad = grad
        optimizer.step()
        v = beta2 * v + (1 - beta2) * grad**2
        state = optimizer.state[param]
        assert torch.equal(param.detach(), initial)
        assert torch.equal(state["exp_avg"], torch.zeros(5, dtype=torch.float64))
        torch.testing.assert_close(state["exp_avg_sq"], v, rtol=RTOL, atol=0)
    resumed = {
        "step": freeze,
        "exp_avg": np.zeros(5),
        "exp_avg_sq": v.numpy().copy(),
        "max_exp_avg_sq": v.numpy().copy(),
    }
    theta = initial.numpy().copy()
    for grad in grads[freeze:]:
        param.grad = grad
        optimizer.step()
        theta = ref.adam_update(
            theta, grad.numpy(), resumed, eps_mode="sqrt_v", decoupled_weight_decay=True, **hyper
        )
        torch.testing.assert_close(param.detach(), torch.from_numpy(theta), rtol=RTOL, atol=0)
    assert not torch.equal(param.detach(), initial)


def test_adam2k_without_freeze_is_adam_in_sqrt_v_form() -> None:
    grads = random_gradients(200, (6,), seed=10)
    hyper = {"lr": 1e-2, "betas": (0.9, 0.999), "eps": 1e-6, "weight_decay": 0.05}
    _, _, adam2k = run(lambda p: optimizers.Adam2k(p, freeze_steps=0, **hyper), grads)
    _, _, adam = run(
        lambda p: optimizers.Adam(p, eps_mode="sqrt_v", decoupled_weight_decay=True, **hyper),
        grads,
    )
    torch.testing.assert_close(adam2k, adam, rtol=RTOL, atol=1e-14)


@pytest.mark.parametrize(
    ("alias", "base", "switches"),
    [
        ("AdamW", "Adam", {"decoupled_weight_decay": True}),
        ("AMSGrad", "Adam", {"amsgrad": True}),
        ("AMSBound", "AdaBound", {"amsbound": True}),
    ],
)
def test_aliases_are_their_base_class_with_the_switch(
    alias: str, base: str, switches: dict
) -> None:
    """Shrinking gradients make AMSGrad's max matter, so each alias differs from the plain base."""
    grads = [g * math.exp(-t / 20) for t, g in enumerate(random_gradients(150, (5,), seed=11))]
    hyper = {"lr": 1e-2, "weight_decay": 1e-2}
    _, _, aliased = run(lambda p: getattr(optimizers, alias)(p, **hyper), grads)
    _, _, switched = run(lambda p: getattr(optimizers, base)(p, **hyper, **switches), grads)
    _, _, plain = run(lambda p: getattr(optimizers, base)(p, **hyper), grads)
    torch.testing.assert_close(aliased, switched, rtol=RTOL, atol=0)
    assert not torch.allclose(aliased, plain, rtol=1e-6, atol=0)
