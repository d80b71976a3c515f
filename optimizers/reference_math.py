"""Float64 reference implementations of the update rules of every optimizer the suite ships.

They are used by the tests (``tests/optimizers/``) and by the GPU check
(``experiments.bench.gpu_check``) as the ground truth the library is compared with. Written
straight from docs/papers.md §1 and the fixed API note, independently of the library in
``optimizers/``. Plain numpy, one parameter at a time: each ``*_update`` function takes the
parameter ``theta`` and its gradient ``grad`` (float64 arrays), the parameter's ``state`` (a dict,
created empty and mutated in place) and the group's hyperparameters, and returns the new
parameter. ``state["step"]`` is the 1-based index t of the update being applied after the call.
The 500-step cases the library is checked on are in ``optimizers.reference_cases``.
"""

import math

import numpy as np

Array = np.ndarray


def _next_step(state: dict, theta: Array) -> int:
    """Advance the per-parameter step counter, creating zero moments on the first call."""
    if not state:
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(theta)
        state["exp_avg_sq"] = np.zeros_like(theta)
        state["max_exp_avg_sq"] = np.zeros_like(theta)
    state["step"] += 1
    return state["step"]


def _update_moments(state: dict, grad: Array, beta1: float, beta2: float) -> None:
    """docs/papers.md §1: m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²; v_max = max(v_max, v)."""
    state["exp_avg"] = beta1 * state["exp_avg"] + (1.0 - beta1) * grad
    state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1.0 - beta2) * grad * grad
    state["max_exp_avg_sq"] = np.maximum(state["max_exp_avg_sq"], state["exp_avg_sq"])


def adam_update(
    theta: Array,
    grad: Array,
    state: dict,
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    decoupled_weight_decay: bool = False,
    eps_mode: str = "sqrt_v_hat",
) -> Array:
    """Adam / AdamW / AMSGrad (docs/papers.md §1, Adam).

    ``sqrt_v_hat`` (torch): θ ← θ − η·m̂/(√v̂ + ε), m̂ = m/(1−β1^t), v̂ = v/(1−β2^t).
    ``sqrt_v`` (the RAdam repository's baselines): θ ← θ − η·√(1−β2^t)/(1−β1^t)·m/(√v + ε).
    AMSGrad replaces v by v_max = max(v_max, v) (uncorrected), bias correction unchanged.
    Decoupled decay (AdamW): θ ← θ − η·wd·θ before the update; otherwise g ← g + wd·θ.
    """
    beta1, beta2 = betas
    t = _next_step(state, theta)
    if decoupled_weight_decay:
        theta = theta - lr * weight_decay * theta
    else:
        grad = grad + weight_decay * theta
    _update_moments(state, grad, beta1, beta2)
    m = state["exp_avg"]
    v = state["max_exp_avg_sq"] if amsgrad else state["exp_avg_sq"]
    bias1 = 1.0 - beta1**t
    bias2 = 1.0 - beta2**t
    if eps_mode == "sqrt_v_hat":
        return theta - lr * (m / bias1) / (np.sqrt(v / bias2) + eps)
    if eps_mode == "sqrt_v":
        return theta - lr * math.sqrt(bias2) / bias1 * m / (np.sqrt(v) + eps)
    raise ValueError(f"unknown eps_mode {eps_mode!r}")


def radam_rho(beta2: float, t: int) -> tuple[float, float]:
    """docs/papers.md §1: ρ∞ = 2/(1−β2) − 1; ρ_t = ρ∞ − 2tβ2^t/(1−β2^t). Returns (ρ∞, ρ_t)."""
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    rho_t = rho_inf - 2.0 * t * beta2**t / (1.0 - beta2**t)
    return rho_inf, rho_t


def radam_rectifier(rho_inf: float, rho_t: float) -> float:
    """docs/papers.md §1: r_t = sqrt((ρ_t−4)(ρ_t−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρ_t))."""
    return math.sqrt(
        (rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)
    )


def radam_is_rectified(rho_t: float, threshold: float, strict_threshold: bool) -> bool:
    """docs/papers.md §1: the code rule ρ_t ≥ threshold, torch's rule ρ_t > threshold."""
    return rho_t > threshold if strict_threshold else rho_t >= threshold


def radam_update(
    theta: Array,
    grad: Array,
    state: dict,
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float = 0.0,
    threshold: float = 5.0,
    strict_threshold: bool = False,
    degenerated_to_sgd: bool = True,
    decoupled_weight_decay: bool = True,
) -> Array:
    """RAdam (docs/papers.md §1, RAdam).

    Rectified: θ ← θ − η·r_t·√(1−β2^t)/(1−β1^t)·m/(√v + ε). Otherwise the momentum
    step θ ← θ − η·m/(1−β1^t), or, with ``degenerated_to_sgd=False``, nothing at all (the
    moments still accumulate, no decay). Decoupled decay θ ← θ − η·wd·θ is applied
    just before every update that happens; L2 mode adds wd·θ to the gradient that
    feeds the moments, on every step.
    """
    beta1, beta2 = betas
    t = _next_step(state, theta)
    if not decoupled_weight_decay:
        grad = grad + weight_decay * theta
    _update_moments(state, grad, beta1, beta2)
    m, v = state["exp_avg"], state["exp_avg_sq"]
    rho_inf, rho_t = radam_rho(beta2, t)
    bias1 = 1.0 - beta1**t
    rectified = radam_is_rectified(rho_t, threshold, strict_threshold)
    if not rectified and not degenerated_to_sgd:
        return theta
    if decoupled_weight_decay:
        theta = theta - lr * weight_decay * theta
    if rectified:
        r_t = radam_rectifier(rho_inf, rho_t)
        bias2 = 1.0 - beta2**t
        return theta - lr * r_t * math.sqrt(bias2) / bias1 * m / (np.sqrt(v) + eps)
    return theta - lr * m / bias1


def adabound_bounds(final_lr: float, gamma: float, t: int) -> tuple[float, float]:
    """docs/papers.md §1: lower = f·(1 − 1/(γt+1)), upper = f·(1 + 1/(γt)); γ = 0 → [0, ∞).

    ``final_lr`` here is the scaled f (final_lr · current lr / base lr).
    """
    lower = final_lr * (1.0 - 1.0 / (gamma * t + 1.0))
    upper = math.inf if gamma == 0.0 else final_lr * (1.0 + 1.0 / (gamma * t))
    return lower, upper


def adabound_update(
    theta: Array,
    grad: Array,
    state: dict,
    *,
    lr: float,
    base_lr: float,
    betas: tuple[float, float],
    final_lr: float,
    gamma: float,
    eps: float,
    weight_decay: float = 0.0,
    amsbound: bool = False,
    decoupled_weight_decay: bool = False,
) -> Array:
    """AdaBound / AMSBound (docs/papers.md §1, AdaBound).

    g ← g + wd·θ (coupled L2) unless decoupled; step = η·√(1−β2^t)/(1−β1^t)/(√v + ε)
    (AMSBound: v_max); f = final_lr·lr/base_lr; θ ← θ − clamp(step, lower,
    upper)·m with the raw m. Decoupled = AdaBoundW: θ ← θ − wd·θ, not
    multiplied by lr (the decay uses the parameter before this step's update).
    """
    beta1, beta2 = betas
    t = _next_step(state, theta)
    if not decoupled_weight_decay:
        grad = grad + weight_decay * theta
    _update_moments(state, grad, beta1, beta2)
    m = state["exp_avg"]
    v = state["max_exp_avg_sq"] if amsbound else state["exp_avg_sq"]
    step_size = lr * math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t) / (np.sqrt(v) + eps)
    lower, upper = adabound_bounds(final_lr * lr / base_lr, gamma, t)
    clipped = np.clip(step_size, lower, upper)
    decay = weight_decay * theta if decoupled_weight_decay else 0.0
    return theta - clipped * m - decay


def adam2k_update(
    theta: Array,
    grad: Array,
    state: dict,
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float = 0.0,
    freeze_steps: int = 2000,
    decoupled_weight_decay: bool = True,
) -> Array:
    """Adam-2k (docs/papers.md §1).

    For t ≤ freeze_steps only v is updated (m and θ frozen, no decay). Afterwards Adam in the
    ``sqrt_v`` form with bias corrections by the global t (frozen steps included). In L2 mode the
    gradient that feeds v during the freeze is g + wd·θ as on every other step.
    """
    beta1, beta2 = betas
    t = _next_step(state, theta)
    if not decoupled_weight_decay:
        grad = grad + weight_decay * theta
    if t <= freeze_steps:
        state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1.0 - beta2) * grad * grad
        return theta
    if decoupled_weight_decay:
        theta = theta - lr * weight_decay * theta
    _update_moments(state, grad, beta1, beta2)
    m, v = state["exp_avg"], state["exp_avg_sq"]
    step_size = lr * math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
    return theta - step_size * m / (np.sqrt(v) + eps)


def sgd_update(
    theta: Array,
    grad: Array,
    state: dict,
    *,
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
) -> Array:
    """SGD with momentum as in torch.optim.SGD (the papers' SGD, coupled L2).

    g ← g + wd·θ; b ← g on the first step, else b ← μ·b + (1−dampening)·g;
    nesterov: d = g + μ·b, else d = b; θ ← θ − η·d.
    """
    grad = grad + weight_decay * theta
    if momentum == 0.0:
        return theta - lr * grad
    if "momentum_buffer" not in state:
        state["momentum_buffer"] = grad.copy()
    else:
        state["momentum_buffer"] = momentum * state["momentum_buffer"] + (1.0 - dampening) * grad
    direction = grad + momentum * state["momentum_buffer"] if nesterov else state["momentum_buffer"]
    return theta - lr * direction


def adagrad_update(
    theta: Array,
    grad: Array,
    state: dict,
    *,
    lr: float,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-10,
) -> Array:
    """Adagrad as in torch.optim.Adagrad: s ← s + g²; θ ← θ − η/(1+(t−1)·decay)·g/(√s + ε)."""
    if not state:
        state["step"] = 0
        state["sum"] = np.full_like(theta, initial_accumulator_value)
    state["step"] += 1
    grad = grad + weight_decay * theta
    clr = lr / (1.0 + (state["step"] - 1) * lr_decay)
    state["sum"] = state["sum"] + grad * grad
    return theta - clr * grad / (np.sqrt(state["sum"]) + eps)


def rmsprop_update(
    theta: Array,
    grad: Array,
    state: dict,
    *,
    lr: float,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
) -> Array:
    """RMSprop as in torch.optim.RMSprop (no bias correction).

    s ← α·s + (1−α)·g²; centered: a ← α·a + (1−α)·g, d = √(s − a²) + ε, else d = √s + ε;
    momentum: b ← μ·b + g/d, θ ← θ − η·b; otherwise θ ← θ − η·g/d.
    """
    if not state:
        state["square_avg"] = np.zeros_like(theta)
        state["grad_avg"] = np.zeros_like(theta)
        state["momentum_buffer"] = np.zeros_like(theta)
    grad = grad + weight_decay * theta
    state["square_avg"] = alpha * state["square_avg"] + (1.0 - alpha) * grad * grad
    if centered:
        state["grad_avg"] = alpha * state["grad_avg"] + (1.0 - alpha) * grad
        denom = np.sqrt(state["square_avg"] - state["grad_avg"] ** 2) + eps
    else:
        denom = np.sqrt(state["square_avg"]) + eps
    if momentum > 0.0:
        state["momentum_buffer"] = momentum * state["momentum_buffer"] + grad / denom
        return theta - lr * state["momentum_buffer"]
    return theta - lr * grad / denom
