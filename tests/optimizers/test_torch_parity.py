"""The library against torch.optim wherever the semantics coincide (docs/papers.md §1, API note).

Closed loop: a small float64 regression problem trained with real autograd gradients, two param
groups with different hyperparameters, and an lr schedule applied between steps. Both optimizers
start from the same parameters; every step's parameters must agree to a relative error of 1e-10.
"""

from collections.abc import Callable

import pytest
import torch

import optimizers

STEPS = 300
RTOL = 1e-10
ATOL = 1e-13


def lr_factor(t: int) -> float:
    """Step decay at t = 100 and t = 200, as a schedule in the training loop would set it."""
    return 1.0 if t < 100 else 0.3 if t < 200 else 0.05


def make_problem() -> tuple[list[torch.Tensor], Callable[[list[torch.Tensor]], torch.Tensor]]:
    """Initial parameters of a tanh network and its mean-squared-error loss on fixed data."""
    generator = torch.Generator().manual_seed(1908)
    inputs = torch.randn(32, 6, generator=generator, dtype=torch.float64)
    targets = torch.randn(32, 2, generator=generator, dtype=torch.float64)
    initial = [
        torch.randn(6, 5, generator=generator, dtype=torch.float64),
        torch.randn(5, generator=generator, dtype=torch.float64),
        torch.randn(5, 2, generator=generator, dtype=torch.float64),
    ]

    def loss_fn(params: list[torch.Tensor]) -> torch.Tensor:
        hidden = torch.tanh(inputs @ params[0] + params[1])
        return ((hidden @ params[2] - targets) ** 2).mean()

    return initial, loss_fn


def trajectory(factory: Callable[[list[dict]], torch.optim.Optimizer], groups: tuple[dict, dict]):
    """Parameters after every step, flattened: shape (STEPS, n_coordinates)."""
    initial, loss_fn = make_problem()
    params = [p.clone().requires_grad_(True) for p in initial]
    optimizer = factory([{"params": params[:2], **groups[0]}, {"params": params[2:], **groups[1]}])
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    rows = []
    for t in range(1, STEPS + 1):
        for group, lr in zip(optimizer.param_groups, base_lrs, strict=True):
            group["lr"] = lr * lr_factor(t)
        optimizer.zero_grad()
        loss_fn(params).backward()
        optimizer.step()
        rows.append(torch.cat([p.detach().flatten() for p in params]))
    return torch.stack(rows)


ADAM_GROUPS = (
    {"lr": 1e-2, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2},
    {"lr": 3e-3, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 5e-2},
)

# (ours, torch's, groups): constructors taking a list of param-group dicts.
PAIRS = {
    "RAdam-L2": (
        lambda g, fe: optimizers.RAdam(
            g, threshold=5.0, strict_threshold=True, decoupled_weight_decay=False, foreach=fe
        ),
        lambda g: torch.optim.RAdam(g, decoupled_weight_decay=False),
        ADAM_GROUPS,
    ),
    "RAdam-decoupled": (
        lambda g, fe: optimizers.RAdam(
            g, threshold=5.0, strict_threshold=True, decoupled_weight_decay=True, foreach=fe
        ),
        lambda g: torch.optim.RAdam(g, decoupled_weight_decay=True),
        ADAM_GROUPS,
    ),
    "Adam": (
        lambda g, fe: optimizers.Adam(g, eps_mode="sqrt_v_hat", foreach=fe),
        lambda g: torch.optim.Adam(g),
        ADAM_GROUPS,
    ),
    "Adam-amsgrad": (
        lambda g, fe: optimizers.Adam(g, eps_mode="sqrt_v_hat", amsgrad=True, foreach=fe),
        lambda g: torch.optim.Adam(g, amsgrad=True),
        ADAM_GROUPS,
    ),
    "Adam-decoupled": (
        lambda g, fe: optimizers.Adam(
            g, eps_mode="sqrt_v_hat", decoupled_weight_decay=True, foreach=fe
        ),
        lambda g: torch.optim.AdamW(g),
        ADAM_GROUPS,
    ),
    "Adam-decoupled-amsgrad": (
        lambda g, fe: optimizers.Adam(
            g, eps_mode="sqrt_v_hat", decoupled_weight_decay=True, amsgrad=True, foreach=fe
        ),
        lambda g: torch.optim.AdamW(g, amsgrad=True),
        ADAM_GROUPS,
    ),
    "AdamW-defaults": (
        lambda g, fe: optimizers.AdamW(g, foreach=fe),
        lambda g: torch.optim.AdamW(g),
        ({"lr": 1e-2}, {"lr": 3e-3, "betas": (0.8, 0.99)}),
    ),
    "AMSGrad": (
        lambda g, fe: optimizers.AMSGrad(g, foreach=fe),
        lambda g: torch.optim.Adam(g, amsgrad=True),
        ADAM_GROUPS,
    ),
    "Adagrad": (
        lambda g, fe: optimizers.Adagrad(g, foreach=fe),
        lambda g: torch.optim.Adagrad(g),
        ({"lr": 5e-2, "weight_decay": 1e-2}, {"lr": 2e-2, "lr_decay": 1e-3, "eps": 1e-8}),
    ),
    "RMSprop": (
        lambda g, fe: optimizers.RMSprop(g, foreach=fe),
        lambda g: torch.optim.RMSprop(g),
        (
            {"lr": 1e-3, "alpha": 0.99, "weight_decay": 1e-2},
            {"lr": 3e-3, "alpha": 0.9, "centered": True, "momentum": 0.5},
        ),
    ),
    "SGD": (
        lambda g, fe: optimizers.SGD(g, foreach=fe),
        lambda g: torch.optim.SGD(g),
        (
            {"lr": 5e-2, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-2},
            {"lr": 2e-2, "momentum": 0.5, "dampening": 0.1},
        ),
    ),
}


@pytest.mark.parametrize("foreach", [True, False], ids=["foreach", "per_tensor"])
@pytest.mark.parametrize("name", list(PAIRS))
def test_matches_torch_optim(name: str, foreach: bool) -> None:
    ours, theirs, groups = PAIRS[name]
    expected = trajectory(theirs, groups)
    actual = trajectory(lambda g: ours(g, foreach), groups)
    assert not torch.equal(expected[0], expected[-1])
    torch.testing.assert_close(actual, expected, rtol=RTOL, atol=ATOL)


def test_radam_defaults_differ_from_torch_as_documented() -> None:
    """With weight decay on, our default RAdam (decoupled decay, API note) is not torch's (L2)."""
    groups = ({"lr": 1e-2, "weight_decay": 0.1}, {"lr": 3e-3, "weight_decay": 0.1})
    ours = trajectory(lambda g: optimizers.RAdam(g), groups)
    theirs = trajectory(lambda g: torch.optim.RAdam(g), groups)
    assert not torch.allclose(ours, theirs, rtol=1e-6, atol=0.0)
