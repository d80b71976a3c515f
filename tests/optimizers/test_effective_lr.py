"""effective_lr and RAdam.rectification against hand computations; bf16 parameters.

Constant gradients keep the hand math short: after t steps m_t = (1−β1^t)·g and
v_t = (1−β2^t)·g².
"""

from __future__ import annotations

import math

import pytest
import torch

from optimizers import AdaBound, Adam, Adam2k, AdamW, AMSBound, AMSGrad, RAdam

B1, B2, EPS, LR = 0.9, 0.999, 1e-8, 1e-2
GRAD = torch.tensor([0.5, -2.0, 3e-5], dtype=torch.float64)


def constant_gradient_run(optimizer_factory, steps: int):
    """Yield (t, parameter change, optimizer, parameter) after each of ``steps`` updates."""
    param = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    optimizer = optimizer_factory([param])
    for t in range(1, steps + 1):
        before = param.detach().clone()
        param.grad = GRAD.clone()
        optimizer.step()
        yield t, param.detach() - before, optimizer, param


def test_effective_lr_is_zero_before_the_first_update_and_refuses_strangers() -> None:
    param = torch.nn.Parameter(torch.ones(2))
    optimizer = Adam([param])
    assert torch.equal(optimizer.effective_lr(param), torch.zeros(2))
    with pytest.raises(ValueError, match="not a parameter"):
        optimizer.effective_lr(torch.ones(2))


@pytest.mark.parametrize("eps_mode", ["sqrt_v_hat", "sqrt_v"])
def test_adam_effective_lr_two_parameters_two_steps(eps_mode: str) -> None:
    """Two parameters with different gradients at steps 1 and 2; η/(√v̂+ε) multiplies m̂ in the
    torch form, η·√(1−β2^t)/(1−β1^t)/(√v+ε) multiplies m in the sqrt_v form."""
    weight = torch.nn.Parameter(torch.tensor([1.0, -1.0], dtype=torch.float64))
    bias = torch.nn.Parameter(torch.tensor(0.5, dtype=torch.float64))
    optimizer = Adam([weight, bias], lr=LR, eps=EPS, eps_mode=eps_mode)
    grads = {0: ([0.5, -2.0], 1.0), 1: ([1.5, 0.1], -3.0)}
    for step in (0, 1):
        before = [weight.detach().clone(), bias.detach().clone()]
        weight.grad = torch.tensor(grads[step][0], dtype=torch.float64)
        bias.grad = torch.tensor(grads[step][1], dtype=torch.float64)
        optimizer.step()
    for index, (param, start) in enumerate([(weight, before[0]), (bias, before[1])]):
        g1 = torch.tensor(grads[0][index], dtype=torch.float64)
        g2 = torch.tensor(grads[1][index], dtype=torch.float64)
        m = B1 * (1 - B1) * g1 + (1 - B1) * g2
        v = B2 * (1 - B2) * g1**2 + (1 - B2) * g2**2
        bc1, bc2 = 1 - B1**2, 1 - B2**2
        if eps_mode == "sqrt_v_hat":
            expected, moment = LR / ((v / bc2).sqrt() + EPS), m / bc1
        else:
            expected, moment = LR * math.sqrt(bc2) / bc1 / (v.sqrt() + EPS), m
        torch.testing.assert_close(optimizer.effective_lr(param), expected, rtol=1e-12, atol=0)
        torch.testing.assert_close(param.detach() - start, -expected * moment, rtol=1e-10, atol=0)


def test_amsgrad_effective_lr_uses_the_running_maximum() -> None:
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    optimizer = AMSGrad([param], lr=LR, eps=EPS)
    for grad in (10.0, 0.1, 0.1):
        param.grad = torch.tensor([grad], dtype=torch.float64)
        optimizer.step()
    v1 = (1 - B2) * 100.0
    v3 = B2**2 * v1 + (1 - B2) * 0.01 * (B2 + 1)
    v_max = max(v1, B2 * v1 + (1 - B2) * 0.01, v3)
    expected = LR / (math.sqrt(v_max / (1 - B2**3)) + EPS)
    assert optimizer.effective_lr(param).item() == pytest.approx(expected, rel=1e-12)


def rho(t: int, beta2: float = B2) -> float:
    rho_inf = 2 / (1 - beta2) - 1
    return rho_inf - 2 * t * beta2**t / (1 - beta2**t)


def r(t: int, beta2: float = B2) -> float:
    rho_inf, rho_t = 2 / (1 - beta2) - 1, rho(t, beta2)
    return math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))


def test_rho_matches_the_papers_values() -> None:
    assert rho(1) == pytest.approx(1.0, abs=1e-9)
    assert rho(4) == pytest.approx(3.998, abs=1e-3)
    assert rho(5) == pytest.approx(4.996, abs=1e-3)
    assert rho(6) == pytest.approx(5.994, abs=1e-3)


@pytest.mark.parametrize(
    "threshold, strict, first_rectified",
    [(5.0, False, 6), (5.0, True, 6), (4.0, True, 5), (4.0, False, 5)],
)
@pytest.mark.parametrize("degenerated_to_sgd", [True, False])
def test_radam_rectification_and_effective_lr_steps_1_to_7(
    threshold: float, strict: bool, first_rectified: int, degenerated_to_sgd: bool
) -> None:
    def factory(params):
        return RAdam(
            params,
            lr=LR,
            eps=EPS,
            threshold=threshold,
            strict_threshold=strict,
            degenerated_to_sgd=degenerated_to_sgd,
        )

    for t, change, optimizer, param in constant_gradient_run(factory, 7):
        info = optimizer.rectification(0)
        assert info["step"] == t
        assert info["rho_t"] == pytest.approx(rho(t), rel=1e-9)
        assert info["rectified"] == (t >= first_rectified)
        m, v = (1 - B1**t) * GRAD, (1 - B2**t) * GRAD**2
        if t >= first_rectified:
            assert info["r_t"] == pytest.approx(r(t), rel=1e-9)
            expected = LR * r(t) * math.sqrt(1 - B2**t) / (1 - B1**t) / (v.sqrt() + EPS)
        else:
            assert info["r_t"] is None
            expected = torch.full_like(GRAD, LR / (1 - B1**t) if degenerated_to_sgd else 0.0)
        torch.testing.assert_close(optimizer.effective_lr(param), expected, rtol=1e-10, atol=0)
        torch.testing.assert_close(change, -expected * m, rtol=1e-10, atol=1e-15)


def test_radam_rectification_before_any_step() -> None:
    optimizer = RAdam([torch.nn.Parameter(torch.ones(1))])
    assert optimizer.rectification() == dict(step=0, rho_t=None, r_t=None, rectified=False)


def adabound_step(t: int, lr: float) -> torch.Tensor:
    v = (1 - B2**t) * GRAD**2
    return lr * math.sqrt(1 - B2**t) / (1 - B1**t) / (v.sqrt() + EPS)


@pytest.mark.parametrize("cls", [AdaBound, AMSBound])
def test_adabound_effective_lr_is_the_clipped_step(cls: type) -> None:
    """lr 1e-3: the unclipped step ≈ 0.01/|g| is [2e-2, 5e-3, 333]; at t = 1 the bounds are
    [1e-4, 100.1] (docs/papers.md) and the last coordinate binds; at t = 2, with the lr halved by a
    schedule, f = 0.05 and the bounds are f·[1 − 1/(2γ+1), 1 + 1/(2γ)]."""
    gamma, final_lr, lr = 1e-3, 0.1, 1e-3
    param = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    optimizer = cls([param], lr=lr, final_lr=final_lr, gamma=gamma, eps=EPS)
    param.grad = GRAD.clone()
    optimizer.step()
    lower, upper = final_lr * (1 - 1 / (gamma + 1)), final_lr * (1 + 1 / gamma)
    assert (lower, upper) == pytest.approx((1e-4, 100.1), rel=1e-3)
    expected = adabound_step(1, lr).clamp(lower, upper)
    assert expected[2] == upper and lower < expected[1] < upper
    torch.testing.assert_close(optimizer.effective_lr(param), expected, rtol=1e-12, atol=0)

    optimizer.param_groups[0]["lr"] = lr / 2
    before = param.detach().clone()
    param.grad = GRAD.clone()
    optimizer.step()
    f = final_lr / 2
    lower, upper = f * (1 - 1 / (2 * gamma + 1)), f * (1 + 1 / (2 * gamma))
    expected = adabound_step(2, lr / 2).clamp(lower, upper)
    assert expected[2] == upper and lower < expected[1] < upper
    torch.testing.assert_close(optimizer.effective_lr(param), expected, rtol=1e-12, atol=0)
    m = (1 - B1**2) * GRAD
    torch.testing.assert_close(param.detach() - before, -expected * m, rtol=1e-10, atol=0)


def test_adabound_lower_bound_binds_and_gamma_zero_never_clips() -> None:
    big = torch.tensor([1e3], dtype=torch.float64)
    for gamma, expected in [(1e-3, 0.1 * (1 - 1 / (1e-3 + 1))), (0.0, None)]:
        param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        optimizer = AdaBound([param], lr=1e-3, gamma=gamma, eps=EPS)
        param.grad = big.clone()
        optimizer.step()
        unclipped = 1e-3 * math.sqrt(1 - B2) / (1 - B1) / (math.sqrt(1 - B2) * 1e3 + EPS)
        value = optimizer.effective_lr(param).item()
        assert value == pytest.approx(unclipped if expected is None else expected, rel=1e-12)


def test_adam2k_effective_lr_zero_while_frozen_then_global_bias_correction() -> None:
    def factory(params):
        return Adam2k(params, lr=LR, eps=EPS, freeze_steps=3, weight_decay=0.1)

    for t, change, optimizer, param in constant_gradient_run(factory, 5):
        if t <= 3:
            assert torch.count_nonzero(change) == 0
            assert torch.count_nonzero(optimizer.effective_lr(param)) == 0
            assert torch.count_nonzero(optimizer.state[param]["exp_avg"]) == 0
            continue
        v = (1 - B2**t) * GRAD**2
        m = (1 - B1 ** (t - 3)) * GRAD
        expected = LR * math.sqrt(1 - B2**t) / (1 - B1**t) / (v.sqrt() + EPS)
        torch.testing.assert_close(optimizer.effective_lr(param), expected, rtol=1e-10, atol=0)
        before = param.detach() - change
        decayed = before * (1 - LR * 0.1)
        torch.testing.assert_close(param.detach(), decayed - expected * m, rtol=1e-12, atol=0)


ADAM_FAMILY = [
    (Adam, dict(weight_decay=0.1)),
    (AdamW, {}),
    (AMSGrad, {}),
    (RAdam, dict(weight_decay=0.1, decoupled_weight_decay=False)),
    (AdaBound, dict(weight_decay=0.1)),
    (AMSBound, dict(decoupled_weight_decay=True, weight_decay=1e-3)),
    (Adam2k, dict(freeze_steps=2)),
]


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("case", ADAM_FAMILY, ids=lambda case: case[0].__name__)
def test_bf16_parameters_keep_float32_state_and_update_in_float32(case, foreach: bool) -> None:
    """A bf16 run equals a float32 run whose parameters are rounded to bf16 after every step:
    the state is float32 and the update is computed in float32, then rounded once."""
    cls, kwargs = case
    generator = torch.Generator().manual_seed(0)
    start = torch.randn(6, 5, generator=generator)
    low = torch.nn.Parameter(start.to(torch.bfloat16))
    ref = torch.nn.Parameter(start.to(torch.bfloat16).float())
    opt_low = cls([low], lr=1e-2, foreach=foreach, **kwargs)
    opt_ref = cls([ref], lr=1e-2, foreach=foreach, **kwargs)
    for _ in range(8):
        grad = torch.randn(6, 5, generator=generator).to(torch.bfloat16)
        low.grad, ref.grad = grad, grad.float()
        opt_low.step()
        opt_ref.step()
        with torch.no_grad():
            ref.copy_(ref.to(torch.bfloat16).float())
        assert torch.equal(low.float(), ref)
    for key, value in opt_low.state[low].items():
        if torch.is_tensor(value):
            assert value.dtype == torch.float32
            assert torch.equal(value, opt_ref.state[ref][key])
    assert low.dtype == torch.bfloat16
    assert opt_low.effective_lr(low).dtype == torch.float32
