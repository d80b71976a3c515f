"""The torch.optim contract of every exported optimizer: groups, closure, zero_grad, state_dict,
refusals (sparse gradients, invalid hyperparameters naming the argument)."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
import torch

import optimizers
from optimizers import (
    SGD,
    AdaBound,
    Adagrad,
    Adam,
    Adam2k,
    AdamW,
    AMSBound,
    AMSGrad,
    RAdam,
    RMSprop,
)

API_NAMES = {
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "AdamW",
    "AMSGrad",
    "RAdam",
    "AdaBound",
    "AMSBound",
    "Adam2k",
    "NTASGD",
}

# (class, constructor keywords); Adam2k's freeze ends at step 150, after the reload at 137.
OURS: list[tuple[type, dict]] = [
    (Adam, dict(lr=1e-2, weight_decay=0.1)),
    (AdamW, dict(lr=1e-2)),
    (AMSGrad, dict(lr=1e-2)),
    (RAdam, dict(lr=1e-2, weight_decay=0.1)),
    (AdaBound, dict(lr=1e-2, weight_decay=1e-3)),
    (AMSBound, dict(lr=1e-2)),
    (Adam2k, dict(lr=1e-2, weight_decay=0.1, freeze_steps=150)),
]
TORCH: list[tuple[type, dict]] = [
    (SGD, dict(lr=0.1, momentum=0.9, weight_decay=1e-3)),
    (Adagrad, dict(lr=0.1)),
    (RMSprop, dict(lr=1e-2)),
]
EVERY = OURS + TORCH


def ident(case: tuple[type, dict]) -> str:
    return case[0].__name__


def make_params(dtype: torch.dtype = torch.float32) -> list[torch.nn.Parameter]:
    generator = torch.Generator().manual_seed(0)
    shapes = [(4, 3, 3, 3), (4,), (7, 5), ()]
    return [torch.nn.Parameter(torch.randn(s, generator=generator).to(dtype)) for s in shapes]


def set_grads(params: list[torch.Tensor], step: int) -> None:
    """A deterministic gradient for each step (a function of the step number only)."""
    generator = torch.Generator().manual_seed(1000 + step)
    for param in params:
        param.grad = torch.randn(param.shape, generator=generator).to(param.dtype)


def run(optimizer: torch.optim.Optimizer, params: list, steps: range, lr_at: Callable) -> None:
    for step in steps:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, group)
        set_grads(params, step)
        optimizer.step()


def halve_after_100(step: int, group: dict) -> float:
    return group["initial"] * (0.5 if step >= 100 else 1.0)


def test_exports_exactly_the_api() -> None:
    assert set(optimizers.__all__) == API_NAMES
    for name in API_NAMES:
        assert issubclass(getattr(optimizers, name), torch.optim.Optimizer)


@pytest.mark.parametrize("case", OURS, ids=ident)
def test_param_groups_follow_their_own_hyperparameters(case: tuple[type, dict]) -> None:
    """Two groups in one optimizer equal two single-group optimizers with those settings."""
    cls, kwargs = case
    overrides = dict(lr=3e-3, betas=(0.5, 0.99), eps=1e-6, weight_decay=0.05)
    joint = make_params()
    optimizer = cls([{"params": joint[:2]}, {"params": joint[2:], **overrides}], **kwargs)
    alone = make_params()
    first = cls(alone[:2], **kwargs)
    second = cls(alone[2:], **{**kwargs, **overrides})
    for step in range(160):
        set_grads(joint, step)
        set_grads(alone, step)
        optimizer.step()
        first.step()
        second.step()
    for a, b in zip(joint, alone, strict=True):
        assert torch.equal(a, b)
    assert not torch.equal(joint[0], make_params()[0])


@pytest.mark.parametrize("case", EVERY, ids=ident)
def test_closure_loss_is_returned_and_computed_with_grad(case: tuple[type, dict]) -> None:
    cls, kwargs = case
    kwargs = {**kwargs, "freeze_steps": 0} if cls is Adam2k else kwargs
    params = make_params()
    optimizer = cls(params, **kwargs)
    before = [p.detach().clone() for p in params]

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = sum((p**2).sum() for p in params)
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert torch.isclose(loss, sum((b**2).sum() for b in before))
    assert any(not torch.equal(p, b) for p, b in zip(params, before, strict=True))
    assert optimizer.step() is None


@pytest.mark.parametrize("case", EVERY, ids=ident)
def test_zero_grad(case: tuple[type, dict]) -> None:
    cls, kwargs = case
    params = make_params()
    optimizer = cls(params, **kwargs)
    set_grads(params, 0)
    optimizer.zero_grad(set_to_none=False)
    assert all(torch.count_nonzero(p.grad) == 0 for p in params)
    optimizer.zero_grad()
    assert all(p.grad is None for p in params)


def saved(optimizer: torch.optim.Optimizer, **load_kwargs) -> dict:
    buffer = io.BytesIO()
    torch.save(optimizer.state_dict(), buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True, **load_kwargs)


@pytest.mark.parametrize("case", EVERY, ids=ident)
def test_state_dict_at_step_137_continues_bit_identically(case: tuple[type, dict]) -> None:
    cls, kwargs = case
    params = make_params()
    groups = [{"params": params[:2], "initial": 1.0}, {"params": params[2:], "initial": 0.5}]
    optimizer = cls(groups, **kwargs)
    for group in optimizer.param_groups:
        group["initial"] = group["lr"] * group["initial"]
    run(optimizer, params, range(137), halve_after_100)

    state = saved(optimizer)
    copies = [torch.nn.Parameter(p.detach().clone()) for p in params]
    fresh = cls([{"params": copies[:2]}, {"params": copies[2:]}], **kwargs)
    fresh.load_state_dict(state)
    run(optimizer, params, range(137, 180), halve_after_100)
    run(fresh, copies, range(137, 180), halve_after_100)
    for a, b in zip(params, copies, strict=True):
        assert torch.equal(a, b)
    for a, b in zip(params, copies, strict=True):
        for key, value in optimizer.state[a].items():
            other = fresh.state[b][key]
            assert torch.equal(value, other) if torch.is_tensor(value) else value == other


@pytest.mark.parametrize("case", OURS, ids=ident)
def test_state_dict_cross_dtype_and_map_location(case: tuple[type, dict]) -> None:
    """float64 state loads into float32 and bf16 models (cast like torch, but float32 state for
    bf16 parameters) through torch.save/torch.load(weights_only=True, map_location)."""
    cls, kwargs = case
    params64 = make_params(torch.float64)
    optimizer = cls(params64, **kwargs)
    run(optimizer, params64, range(20), lambda step, group: group["lr"])
    state = saved(optimizer, map_location="cpu")
    for dtype, expected_state in [(torch.float32, torch.float32), (torch.bfloat16, torch.float32)]:
        params = [torch.nn.Parameter(p.detach().to(dtype)) for p in params64]
        fresh = cls(params, **kwargs)
        fresh.load_state_dict(state)
        for p64, p in zip(params64, params, strict=True):
            for key, value in optimizer.state[p64].items():
                loaded = fresh.state[p][key]
                if torch.is_tensor(value):
                    assert loaded.dtype == expected_state
                    torch.testing.assert_close(loaded, value.to(expected_state))
                else:
                    assert loaded == value
        fresh.step()  # no grads: nothing moves, nothing breaks
        set_grads(params, 20)
        fresh.step()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("case", OURS, ids=ident)
def test_state_dict_maps_to_cuda(case: tuple[type, dict]) -> None:
    cls, kwargs = case
    params = make_params()
    optimizer = cls(params, **kwargs)
    run(optimizer, params, range(10), lambda step, group: group["lr"])
    state = saved(optimizer, map_location="cuda")
    cuda_params = [torch.nn.Parameter(p.detach().cuda()) for p in params]
    fresh = cls(cuda_params, **kwargs)
    fresh.load_state_dict(state)
    for p in cuda_params:
        assert all(v.is_cuda for v in fresh.state[p].values() if torch.is_tensor(v))
    run(optimizer, params, range(10, 15), lambda step, group: group["lr"])
    run(fresh, cuda_params, range(10, 15), lambda step, group: group["lr"])
    for a, b in zip(params, cuda_params, strict=True):
        torch.testing.assert_close(a, b.cpu(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("case", OURS, ids=ident)
def test_sparse_gradient_is_refused(case: tuple[type, dict], foreach: bool) -> None:
    cls, kwargs = case
    param = torch.nn.Parameter(torch.zeros(5, 3))
    optimizer = cls([param], foreach=foreach, **kwargs)
    param.grad = torch.sparse_coo_tensor([[0, 2]], torch.ones(2, 3), (5, 3), check_invariants=True)
    with pytest.raises(RuntimeError, match="sparse"):
        optimizer.step()


INVALID = [
    (cls, {name: value}, name)
    for cls in (Adam, AdamW, AMSGrad, RAdam, AdaBound, AMSBound, Adam2k)
    for name, value in [("lr", -1e-3), ("eps", -1e-8), ("weight_decay", -0.1)]
] + [
    (Adam, dict(betas=(1.0, 0.999)), "betas"),
    (RAdam, dict(betas=(0.9, 1.0)), "betas"),
    (AdaBound, dict(betas=(-0.1, 0.999)), "betas"),
    (Adam2k, dict(betas=(0.9,)), "betas"),
    (Adam, dict(eps_mode="sqrt"), "eps_mode"),
    (AdamW, dict(eps_mode="v_hat"), "eps_mode"),
    (RAdam, dict(threshold=3.0), "threshold"),
    (RAdam, dict(threshold=float("nan")), "threshold"),
    (AdaBound, dict(final_lr=-0.1), "final_lr"),
    (AMSBound, dict(final_lr=-1.0), "final_lr"),
    (AdaBound, dict(gamma=1.0), "gamma"),
    (AMSBound, dict(gamma=-1e-3), "gamma"),
    (AdaBound, dict(lr=0.0), "lr"),
    (Adam2k, dict(freeze_steps=-1), "freeze_steps"),
    (Adam2k, dict(freeze_steps=2.5), "freeze_steps"),
]


@pytest.mark.parametrize(
    "cls, kwargs, name", INVALID, ids=[f"{c.__name__}-{n}" for c, _, n in INVALID]
)
def test_invalid_hyperparameter_names_the_argument(cls: type, kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        cls([torch.nn.Parameter(torch.zeros(2))], **kwargs)
    with pytest.raises(ValueError, match=name):
        cls([{"params": [torch.nn.Parameter(torch.zeros(2))], **kwargs}])


@pytest.mark.parametrize("case", OURS, ids=ident)
def test_foreach_and_fused_together_are_refused(case: tuple[type, dict]) -> None:
    cls, kwargs = case
    with pytest.raises(ValueError, match="foreach"):
        cls([torch.nn.Parameter(torch.zeros(2))], foreach=True, fused=True, **kwargs)


def test_zero_lr_is_allowed_and_moves_nothing() -> None:
    params = make_params()
    before = [p.detach().clone() for p in params]
    optimizer = RAdam(params, lr=0.0, weight_decay=0.1)
    run(optimizer, params, range(10), lambda step, group: group["lr"])
    assert all(torch.equal(p, b) for p, b in zip(params, before, strict=True))


def test_parameter_without_gradient_keeps_its_own_step() -> None:
    """Like torch.optim, a parameter that missed a gradient has seen fewer updates."""
    first, second = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(3))
    optimizer = RAdam([first, second])
    first.grad = torch.ones(3)
    optimizer.step()
    second.grad = torch.ones(3)
    optimizer.step()
    assert optimizer.state[first]["step"] == 2
    assert optimizer.state[second]["step"] == 1
    assert optimizer.rectification(0)["step"] == 2
