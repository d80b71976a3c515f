"""The per-tensor, foreach and fused paths agree on the same gradient sequence (open loop).

The per-tensor path runs each family's tensor update in a Python loop, the foreach path its
separately written ``torch._foreach_*`` update, the fused path the compiled tensor update with
its step-dependent scalars as 0-d tensors.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch._dynamo.utils import counters

from optimizers import AdaBound, Adam, Adam2k, AdamW, AMSBound, AMSGrad, RAdam

RTOL, ATOL = 1e-6, 1e-7
STEPS = 30

CASES: list[tuple[type, dict]] = (
    [
        (Adam, dict(amsgrad=a, decoupled_weight_decay=d, eps_mode=e))
        for a, d, e in itertools.product([False, True], [False, True], ["sqrt_v_hat", "sqrt_v"])
    ]
    + [(AdamW, {}), (AMSGrad, {})]
    + [
        (
            RAdam,
            dict(threshold=t, strict_threshold=s, degenerated_to_sgd=g, decoupled_weight_decay=d),
        )
        for (t, s), g, d in itertools.product(
            [(4.0, True), (5.0, False), (5.0, True)], [True, False], [True, False]
        )
    ]
    + [
        (AdaBound, dict(amsbound=a, decoupled_weight_decay=d, gamma=g))
        for a, d, g in itertools.product([False, True], [False, True], [1e-3, 0.0])
    ]
    + [
        (AdaBound, dict(final_lr=0.0, decoupled_weight_decay=True)),
        (AdaBound, dict(gamma=0.5)),  # tight bounds that bind from the first step
        (AMSBound, dict(gamma=0.5, final_lr=0.01)),
        (AMSBound, {}),
    ]
    + [
        (Adam2k, dict(freeze_steps=f, decoupled_weight_decay=d))
        for f, d in itertools.product([0, 7], [True, False])
    ]
)
FUSED_CASES = [
    (Adam, dict(amsgrad=True, eps_mode="sqrt_v_hat")),
    (Adam, dict(decoupled_weight_decay=True, eps_mode="sqrt_v")),
    (RAdam, dict(threshold=5.0, degenerated_to_sgd=True, decoupled_weight_decay=False)),
    (RAdam, dict(threshold=4.0, strict_threshold=True, degenerated_to_sgd=False)),
    (AdaBound, dict(gamma=0.5)),
    (AMSBound, dict(gamma=0.0, decoupled_weight_decay=True)),
    (Adam2k, dict(freeze_steps=7)),
]
DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
    ),
]


def case_id(case: tuple[type, dict]) -> str:
    cls, kwargs = case
    return "-".join([cls.__name__] + [f"{k}={v}" for k, v in kwargs.items()])


def make_params(device: str, dtype: torch.dtype) -> list[torch.nn.Parameter]:
    generator = torch.Generator().manual_seed(0)
    shapes = [(8, 3, 3, 3), (8,), (10, 6), (), (33,)]
    params = [torch.randn(s, generator=generator).to(device=device, dtype=dtype) for s in shapes]
    params[0] = params[0].to(memory_format=torch.channels_last)
    return [torch.nn.Parameter(p) for p in params]


def trajectory(
    cls: type, kwargs: dict, path: dict, device: str = "cpu", dtype: torch.dtype = torch.float32
) -> tuple[list[torch.Tensor], list[dict]]:
    """30 steps of fixed gradients, two groups with different hyperparameters, lr halved at 15."""
    params = make_params(device, dtype)
    other = dict(lr=5e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.0)
    groups = [{"params": params[:3]}, {"params": params[3:], **other}]
    optimizer = cls(groups, **{"lr": 1e-2, "weight_decay": 0.1, **kwargs, **path})
    initial = [group["lr"] for group in optimizer.param_groups]
    generator = torch.Generator().manual_seed(1)
    for step in range(STEPS):
        for group, lr in zip(optimizer.param_groups, initial, strict=True):
            group["lr"] = lr * (0.5 if step >= 15 else 1.0)
        for param in params:
            grad = torch.randn(param.shape, generator=generator) * (0.1 + 0.4 * (step % 3 == 0))
            param.grad = grad.to(device=device, dtype=dtype)
        optimizer.step()
    states = [{k: v for k, v in optimizer.state[p].items()} for p in params]
    return [p.detach().cpu() for p in params], states


def assert_same(a: tuple, b: tuple, param_rtol: float = RTOL, param_atol: float = ATOL) -> None:
    params_a, states_a = a
    params_b, states_b = b
    for pa, pb in zip(params_a, params_b, strict=True):
        torch.testing.assert_close(pa, pb, rtol=param_rtol, atol=param_atol)
    for sa, sb in zip(states_a, states_b, strict=True):
        assert sa.keys() == sb.keys()
        for key in sa:
            if torch.is_tensor(sa[key]):
                torch.testing.assert_close(sa[key].cpu(), sb[key].cpu(), rtol=RTOL, atol=ATOL)
            else:
                assert sa[key] == sb[key]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_foreach_matches_per_tensor(case: tuple[type, dict], device: str) -> None:
    cls, kwargs = case
    per_tensor = trajectory(cls, kwargs, dict(foreach=False), device)
    assert_same(trajectory(cls, kwargs, dict(foreach=True), device), per_tensor)
    assert_same(trajectory(cls, kwargs, {}, device), per_tensor)  # the default is foreach
    start = make_params("cpu", torch.float32)
    moved = [not torch.equal(p, q) for p, q in zip(per_tensor[0], start, strict=True)]
    assert any(moved)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", CASES[::3], ids=case_id)
def test_bf16_paths_agree(case: tuple[type, dict], device: str) -> None:
    """With bf16 parameters the float32 state agrees; parameters to bf16 resolution."""
    cls, kwargs = case
    kwargs = {**kwargs, "weight_decay": 0.0}
    per_tensor = trajectory(cls, kwargs, dict(foreach=False), device, torch.bfloat16)
    foreach = trajectory(cls, kwargs, dict(foreach=True), device, torch.bfloat16)
    assert_same(foreach, per_tensor, param_rtol=1.6e-2, param_atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", FUSED_CASES, ids=case_id)
def test_fused_matches_foreach(case: tuple[type, dict], device: str) -> None:
    cls, kwargs = case
    foreach = trajectory(cls, kwargs, dict(foreach=True), device)
    assert_same(trajectory(cls, kwargs, dict(fused=True), device), foreach)


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_fused_compiles_once_per_bucket_whatever_lr_and_t(device: str) -> None:
    """RAdam crosses from the momentum fallback to the rectified update and the lr changes every
    step: the fused step still compiles one graph per device/dtype bucket, never again."""
    params = [
        torch.nn.Parameter(torch.randn(4, 3, device=device)),
        torch.nn.Parameter(torch.randn(5, device=device, dtype=torch.bfloat16)),
    ]
    optimizer = RAdam(params, lr=1e-2, fused=True)
    graphs_before = counters["stats"]["unique_graphs"]
    for step in range(1, 13):
        optimizer.param_groups[0]["lr"] = 1e-2 / step
        for param in params:
            param.grad = torch.randn_like(param)
        optimizer.step()
        if step in (5, 6):
            assert optimizer.rectification()["rectified"] == (step == 6)
    assert counters["stats"]["unique_graphs"] - graphs_before == 2
