"""The 500-step cases every optimizer is checked on against the float64 reference math.

Each case is an optimizer class with a set of switches, two param groups with different lr /
betas / ε / weight decay, and a schedule that changes ``group["lr"]`` between steps the way the
training loop does. Gradients are a precomputed random sequence (per-coordinate scales from 1e-6
to 10 that shrink fivefold early on, with periodic spikes so AMSGrad's running max and both
AdaBound bounds come into play). ``reference_trajectory`` is the reference parameters after every
step (``optimizers.reference_math``), ``library_trajectory`` the library's on float64 parameters,
through its multi-tensor or per-tensor path, optionally with a ``state_dict`` round trip through
``torch.load(weights_only=True)`` halfway, on any device. Used by
``tests/optimizers/test_reference.py`` and by the GPU check (the same cases on the GPU).
"""

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

import optimizers
from optimizers import reference_math as ref

STEPS = 500
ROUND_TRIP_AT = 250
RTOL = 1e-10
ATOL = 1e-13
SHAPES = (((3, 4), (5,)), ((2, 3), (4,)))


def lr_factor(t: int) -> float:
    """The schedule applied to each group's initial lr before update t (1-based)."""
    if t <= 150:
        return 1.0
    if t <= 300:
        return 0.25
    return 0.25 * (1.0 - 0.8 * (t - 300) / (STEPS - 300))


@dataclass(frozen=True)
class Case:
    """An optimizer class, its constructor switches and the two groups' hyperparameters."""

    name: str
    cls_name: str
    reference: Callable[..., np.ndarray]
    options: dict = field(default_factory=dict)
    groups: tuple[dict, dict] = ({}, {})
    decay: tuple[float, float] = (0.0, 0.0)
    scaled_bounds: bool = False

    def group_hyper(self, index: int, weight_decay: bool) -> dict:
        """The group's constructor hyperparameters (weight decay only when switched on)."""
        return {**self.groups[index], "weight_decay": self.decay[index] if weight_decay else 0.0}


ADAM_GROUPS = (
    {"lr": 1e-2, "betas": (0.9, 0.999), "eps": 1e-8},
    {"lr": 3e-3, "betas": (0.8, 0.99), "eps": 1e-6},
)
ADABOUND_GROUPS = (
    {"lr": 1e-3, "betas": (0.9, 0.999), "final_lr": 0.1, "gamma": 1e-3, "eps": 1e-8},
    {"lr": 3e-3, "betas": (0.8, 0.99), "final_lr": 0.05, "gamma": 1e-2, "eps": 1e-6},
)
L2 = (1e-2, 5e-2)


def _adam_cases() -> list[Case]:
    cases = []
    for eps_mode in ("sqrt_v_hat", "sqrt_v"):
        for amsgrad in (False, True):
            for decoupled in (False, True):
                options = {
                    "eps_mode": eps_mode,
                    "amsgrad": amsgrad,
                    "decoupled_weight_decay": decoupled,
                }
                name = f"Adam-{eps_mode}-ams{int(amsgrad)}-dec{int(decoupled)}"
                cases.append(Case(name, "Adam", ref.adam_update, options, ADAM_GROUPS, L2))
    for cls_name, options in (
        ("AdamW", {"decoupled_weight_decay": True, "amsgrad": False}),
        ("AMSGrad", {"decoupled_weight_decay": False, "amsgrad": True}),
    ):
        reference = functools.partial(ref.adam_update, eps_mode="sqrt_v_hat", **options)
        cases.append(Case(cls_name, cls_name, reference, {}, ADAM_GROUPS, L2))
    return cases


def _radam_cases() -> list[Case]:
    cases = []
    for threshold, strict in ((5.0, False), (5.0, True), (4.0, False)):
        for degenerated in (True, False):
            for decoupled in (True, False):
                options = {
                    "threshold": threshold,
                    "strict_threshold": strict,
                    "degenerated_to_sgd": degenerated,
                    "decoupled_weight_decay": decoupled,
                }
                name = f"RAdam-thr{threshold:g}-strict{int(strict)}-sgd{int(degenerated)}"
                name += f"-dec{int(decoupled)}"
                cases.append(Case(name, "RAdam", ref.radam_update, options, ADAM_GROUPS, L2))
    return cases


def _adabound_cases() -> list[Case]:
    cases = []
    for amsbound in (False, True):
        for decoupled in (False, True):
            options = {"amsbound": amsbound, "decoupled_weight_decay": decoupled}
            decay = (1e-3, 2e-3) if decoupled else L2
            name = f"AdaBound-ams{int(amsbound)}-dec{int(decoupled)}"
            cases.append(
                Case(name, "AdaBound", ref.adabound_update, options, ADABOUND_GROUPS, decay, True)
            )
    amsbound_ref = functools.partial(ref.adabound_update, amsbound=True)
    cases.append(Case("AMSBound", "AMSBound", amsbound_ref, {}, ADABOUND_GROUPS, L2, True))
    unbounded = tuple({**group, "gamma": 0.0} for group in ADABOUND_GROUPS)
    cases.append(Case("AdaBound-gamma0", "AdaBound", ref.adabound_update, {}, unbounded, L2, True))
    return cases


def _other_cases() -> list[Case]:
    sgd_groups = ({"lr": 1e-2, "momentum": 0.9}, {"lr": 3e-3, "momentum": 0.5, "dampening": 0.1})
    nesterov_groups = ({"lr": 1e-2, "momentum": 0.9}, {"lr": 3e-3, "momentum": 0.5})
    adagrad_groups = ({"lr": 1e-1, "eps": 1e-10}, {"lr": 5e-2, "lr_decay": 1e-3, "eps": 1e-8})
    rmsprop_groups = (
        {"lr": 1e-3, "alpha": 0.99, "eps": 1e-8},
        {"lr": 3e-3, "alpha": 0.9, "eps": 1e-6},
    )
    adam2k = [
        Case(
            f"Adam2k-dec{int(decoupled)}",
            "Adam2k",
            ref.adam2k_update,
            {"freeze_steps": 100, "decoupled_weight_decay": decoupled},
            ADAM_GROUPS,
            L2,
        )
        for decoupled in (True, False)
    ]
    nesterov = {"nesterov": True, "momentum": 0.9}
    # torch reads initial_accumulator_value from the constructor only, not per group.
    accumulator = {"initial_accumulator_value": 0.1}
    centered = {"centered": True, "momentum": 0.9}
    return adam2k + [
        Case("SGD", "SGD", ref.sgd_update, {}, ({"lr": 1e-2}, {"lr": 3e-3}), L2),
        Case("SGD-momentum", "SGD", ref.sgd_update, {}, sgd_groups, L2),
        Case("SGD-nesterov", "SGD", ref.sgd_update, nesterov, nesterov_groups, L2),
        Case("Adagrad", "Adagrad", ref.adagrad_update, accumulator, adagrad_groups, L2),
        Case("RMSprop", "RMSprop", ref.rmsprop_update, {}, rmsprop_groups, L2),
        Case("RMSprop-centered", "RMSprop", ref.rmsprop_update, centered, rmsprop_groups, L2),
    ]


CASES = _adam_cases() + _radam_cases() + _adabound_cases() + _other_cases()
CASES_BY_NAME = {case.name: case for case in CASES}


@functools.cache
def gradient_sequence() -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Initial parameters and STEPS gradients per parameter (groups flattened in order)."""
    rng = np.random.default_rng(20190803)
    shapes = [shape for group in SHAPES for shape in group]
    initial = [rng.normal(size=shape) for shape in shapes]
    scales = [10.0 ** rng.uniform(-6.0, 1.0, size=shape) for shape in shapes]
    means = [rng.normal(scale=0.5, size=shape) for shape in shapes]
    grads = []
    for t in range(1, STEPS + 1):
        envelope = (1.0 + 4.0 * np.exp(-t / 80.0)) * (10.0 if t % 37 == 0 else 1.0)
        grads.append(
            [
                envelope * s * (mu + rng.normal(size=mu.shape))
                for s, mu in zip(scales, means, strict=True)
            ]
        )
    return initial, grads


@functools.cache
def reference_trajectory(case_name: str, weight_decay: bool) -> np.ndarray:
    """The reference parameters after every step, flattened: shape (STEPS, n_coordinates)."""
    case = CASES_BY_NAME[case_name]
    initial, grads = gradient_sequence()
    thetas = [theta.copy() for theta in initial]
    states: list[dict] = [{} for _ in thetas]
    owner = [g for g, group in enumerate(SHAPES) for _ in group]
    trajectory = []
    for t in range(1, STEPS + 1):
        for i, theta in enumerate(thetas):
            hyper = {**case.options, **case.group_hyper(owner[i], weight_decay)}
            if case.scaled_bounds:
                hyper["base_lr"] = hyper["lr"]
            hyper["lr"] *= lr_factor(t)
            thetas[i] = case.reference(theta, grads[t - 1][i], states[i], **hyper)
        trajectory.append(np.concatenate([theta.ravel() for theta in thetas]))
    return np.stack(trajectory)


def build_optimizer(
    case: Case, params: list[torch.Tensor], weight_decay: bool, foreach: bool
) -> torch.optim.Optimizer:
    """The library's optimizer of ``case`` over ``params`` (the groups of ``SHAPES``)."""
    cls = getattr(optimizers, case.cls_name)
    sizes = [len(group) for group in SHAPES]
    groups = [
        {"params": params[: sizes[0]], **case.group_hyper(0, weight_decay)},
        {"params": params[sizes[0] :], **case.group_hyper(1, weight_decay)},
    ]
    return cls(groups, **case.options, foreach=foreach)


def library_trajectory(
    case: Case, weight_decay: bool, mode: str, device: torch.device | None = None
) -> np.ndarray:
    """The library's parameters after every step, in the layout of ``reference_trajectory``;
    ``mode``: ``foreach``, ``per_tensor`` or ``state_dict_round_trip`` (foreach). On a device
    the trajectory stays there until the end (no host read per step)."""
    device = device or torch.device("cpu")
    initial, grads = gradient_sequence()
    params = [torch.tensor(theta, dtype=torch.float64, device=device) for theta in initial]
    foreach = mode != "per_tensor"
    optimizer = build_optimizer(case, params, weight_decay, foreach)
    initial_lrs = [group["lr"] for group in optimizer.param_groups]
    trajectory = []
    for t in range(1, STEPS + 1):
        for group, lr in zip(optimizer.param_groups, initial_lrs, strict=True):
            group["lr"] = lr * lr_factor(t)
        for param, grad in zip(params, grads[t - 1], strict=True):
            param.grad = torch.tensor(grad, dtype=torch.float64).to(device, non_blocking=True)
        optimizer.step()
        trajectory.append(torch.cat([p.detach().flatten() for p in params]))
        if mode == "state_dict_round_trip" and t == ROUND_TRIP_AT:
            buffer = io.BytesIO()
            torch.save(optimizer.state_dict(), buffer)
            buffer.seek(0)
            optimizer = build_optimizer(case, params, weight_decay, foreach)
            optimizer.load_state_dict(torch.load(buffer, weights_only=True))
    return torch.stack(trajectory).cpu().numpy()
