"""Machinery shared by the Adam-family optimizers: one step loop, three execution paths.

Each family (``adam.py``, ``radam.py``, ``adabound.py``, ``adam2k.py``) supplies only its math:

- ``scalars(group, t)``: the numbers that depend on the step t and the current lr (bias
  corrections, RAdam's r_t, AdaBound's bounds), computed once per param group and step;
- a *tensor update* (one parameter, plain tensor ops, scalars may be floats or 0-d tensors):
  the per-tensor path calls it in a Python loop, and the fused path compiles it;
- a *foreach update* (``torch._foreach_*`` ops over lists, scalars as floats): the default path.

State dtype: parameters in bfloat16/float16 get float32 state, and the update is computed in
float32 on an upcast copy of the parameter that is then written back (rounded) into it. Other
dtypes keep state in the parameter's dtype. The parameter itself stays low precision, so an
update below half a bf16 ulp of θ is lost; keep float32 master weights if that matters.

``step`` in each parameter's state is a Python int (the number of updates that parameter has
seen). Parameters of one group that share t share one set of scalars; a parameter that missed
a gradient on some step keeps its own, smaller t, as in torch.optim.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.optim import Optimizer

LOW_PRECISION = (torch.bfloat16, torch.float16)

TensorUpdate = Callable[[Tensor, Tensor, Sequence[Tensor], Any, Any], None]


def state_dtype(param: Tensor) -> torch.dtype:
    """float32 state for bf16/fp16 parameters, the parameter's own dtype otherwise."""
    return torch.float32 if param.dtype in LOW_PRECISION else param.dtype


def require(condition: bool, name: str, value: Any, rule: str) -> None:
    """Raise ``ValueError`` naming the hyperparameter when ``condition`` is false."""
    if not condition:
        raise ValueError(f"invalid {name}={value!r}: {rule}")


def validate_adam_hyperparameters(group: Mapping[str, Any]) -> None:
    """The checks every Adam-family class shares: lr, betas, eps, weight_decay."""
    lr = float(group["lr"])
    require(lr >= 0.0, "lr", group["lr"], "must be >= 0")
    betas = group["betas"]
    require(len(betas) == 2, "betas", betas, "must be a pair (beta1, beta2)")
    for index, beta in enumerate(betas):
        require(0.0 <= beta < 1.0, f"betas[{index}]", beta, "must be in [0, 1)")
    require(group["eps"] >= 0.0, "eps", group["eps"], "must be >= 0")
    require(group["weight_decay"] >= 0.0, "weight_decay", group["weight_decay"], "must be >= 0")


def update_one(
    tensor_update: TensorUpdate,
    param: Tensor,
    grad: Tensor,
    moments: Sequence[Tensor],
    scalars: Any,
    constants: Any,
) -> None:
    """Apply ``tensor_update`` to one parameter, computing in the state's dtype."""
    work_dtype = moments[0].dtype
    upcast = param.dtype != work_dtype
    work = param.to(work_dtype) if upcast else param
    tensor_update(work, grad.to(work_dtype), moments, scalars, constants)
    if upcast:
        param.copy_(work)


def _fused_group_update(
    tensor_update: TensorUpdate,
    scalars_type: type,
    params: list[Tensor],
    grads: list[Tensor],
    moments: list[list[Tensor]],
    packed_scalars: Tensor,
    constants: Any,
) -> None:
    scalars = scalars_type._make(packed_scalars.unbind(0))
    for index, (param, grad) in enumerate(zip(params, grads, strict=True)):
        update_one(tensor_update, param, grad, [m[index] for m in moments], scalars, constants)


def compile_group_update(name: str) -> Callable[..., None]:
    """A compiled copy of the per-group update, private to one optimizer instance.

    Dynamo keeps its cache of compiled graphs on the function's code object and caps the
    entries per code object (``recompile_limit``, 8). Every param group and device/dtype
    bucket is one entry, so optimizers sharing one function would evict each other and fall
    back to eager; a renamed copy of the code object gives each instance its own cache.

    Shapes are static (dynamo guards on every tensor's size and stride), so inductor's extra
    size/stride asserts in the generated wrapper are redundant and turned off: with hundreds
    of tensors they cost as much as the kernel on small models.
    """
    code = _fused_group_update.__code__.replace(co_name=name, co_qualname=name)
    function = types.FunctionType(code, _fused_group_update.__globals__, name)
    return torch.compile(function, dynamic=False, fullgraph=True, options={"size_asserts": False})


class AdaptiveOptimizer(Optimizer):
    """Base of the Adam-family classes; subclasses define the hooks below."""

    tensor_update: TensorUpdate
    """One parameter, plain tensor ops; scalars are floats (per-tensor) or 0-d tensors (fused)."""
    foreach_update: Callable[[list[Tensor], list[Tensor], list[list[Tensor]], Any, Any], None]
    """All parameters of a device/dtype bucket with ``torch._foreach_*`` ops; float scalars."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        defaults: dict[str, Any],
        *,
        foreach: bool | None,
        fused: bool | None,
    ) -> None:
        if foreach and fused:
            raise ValueError("foreach and fused cannot both be True")
        self.validate_group(defaults)
        self._compiled_update: Callable[..., None] | None = None
        super().__init__(params, {**defaults, "foreach": foreach, "fused": fused})

    # Hooks for the families -------------------------------------------------------------
    def validate_group(self, group: Mapping[str, Any]) -> None:
        validate_adam_hyperparameters(group)

    def moment_names(self, group: Mapping[str, Any]) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq")

    def scalars(self, group: Mapping[str, Any], t: int) -> NamedTuple:
        raise NotImplementedError

    def constants(self, group: Mapping[str, Any]) -> NamedTuple:
        raise NotImplementedError

    def effective_lr_from_state(self, group: Mapping[str, Any], state: Mapping[str, Any]) -> Tensor:
        raise NotImplementedError

    # Parameter groups and state ------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        self.validate_group(self.param_groups[-1])

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self.__dict__.setdefault("_compiled_update", None)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("fused", None)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """torch's loading, then state re-cast from the saved values to our state dtype.

        torch.optim casts every floating-point state tensor to the parameter's dtype, which
        would round the float32 state of a bf16 parameter; here each tensor is cast again
        from the saved value, and a torch-style tensor ``step`` becomes an int.
        """
        super().load_state_dict(state_dict)
        saved_ids = [i for group in state_dict["param_groups"] for i in group["params"]]
        params = [p for group in self.param_groups for p in group["params"]]
        for saved_id, param in zip(saved_ids, params, strict=True):
            saved = state_dict["state"].get(saved_id)
            if saved is None:
                continue
            state = self.state[param]
            for key, value in saved.items():
                if key == "step":
                    state[key] = int(value.item()) if isinstance(value, Tensor) else int(value)
                elif isinstance(value, Tensor) and value.is_floating_point():
                    state[key] = value.to(device=param.device, dtype=state_dtype(param))

    def _init_state(self, param: Tensor, group: Mapping[str, Any]) -> dict[str, Any]:
        if param.is_complex():
            raise RuntimeError(f"{type(self).__name__} does not support complex parameters")
        state = self.state[param]
        state["step"] = 0
        for name in self.moment_names(group):
            state[name] = torch.zeros_like(
                param, dtype=state_dtype(param), memory_format=torch.preserve_format
            )
        return state

    def _group_of(self, param: Tensor) -> dict[str, Any]:
        for group in self.param_groups:
            if any(p is param for p in group["params"]):
                return group
        raise ValueError("the tensor is not a parameter of this optimizer")

    # Diagnostics ------------------------------------------------------------------------
    @torch.no_grad()
    def effective_lr(self, param: Tensor) -> Tensor:
        """Per-coordinate factor that multiplied the moment in the latest update of ``param``.

        Computed on demand from the stored state and the group's current hyperparameters
        (call it after ``step()`` and before the lr is changed for the next update). Zeros
        before the first update. See each class for which moment the factor multiplies.
        """
        group = self._group_of(param)
        state = self.state.get(param)
        if not state or state["step"] == 0:
            return torch.zeros_like(param, dtype=state_dtype(param))
        return self.effective_lr_from_state(group, state)

    # The step -----------------------------------------------------------------------------
    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """One update of every parameter that has a gradient; returns the closure's loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._step_group(group)
        return loss

    def _step_group(self, group: dict[str, Any]) -> None:
        params, grads, states = [], [], []
        for param in group["params"]:
            grad = param.grad
            if grad is None:
                continue
            if grad.is_sparse:
                raise RuntimeError(
                    f"{type(self).__name__} does not support sparse gradients; "
                    "use torch.optim.SparseAdam or dense gradients"
                )
            state = self.state.get(param) or self._init_state(param, group)
            state["step"] += 1
            params.append(param)
            grads.append(grad)
            states.append(state)
        if not params:
            return
        names = self.moment_names(group)
        constants = self.constants(group)
        steps = [state["step"] for state in states]
        if steps.count(steps[0]) == len(steps):  # the usual case: one t for the whole group
            moments = [[state[name] for state in states] for name in names]
            self._apply(group, params, grads, moments, self.scalars(group, steps[0]), constants)
            return
        for t in sorted(set(steps)):
            chosen = [i for i, step in enumerate(steps) if step == t]
            self._apply(
                group,
                [params[i] for i in chosen],
                [grads[i] for i in chosen],
                [[states[i][name] for i in chosen] for name in names],
                self.scalars(group, t),
                constants,
            )

    def _apply(
        self,
        group: Mapping[str, Any],
        params: list[Tensor],
        grads: list[Tensor],
        moments: list[list[Tensor]],
        scalars: NamedTuple,
        constants: NamedTuple,
    ) -> None:
        if not group["fused"] and group["foreach"] is False:
            for index, (param, grad) in enumerate(zip(params, grads, strict=True)):
                moment = [m[index] for m in moments]
                update_one(type(self).tensor_update, param, grad, moment, scalars, constants)
            return
        buckets: dict[tuple[torch.device, torch.dtype], list[int]] = {}
        for index, param in enumerate(params):
            buckets.setdefault((param.device, param.dtype), []).append(index)
        for (device, _), indices in buckets.items():
            bucket_params = [params[i] for i in indices]
            bucket_grads = [grads[i] for i in indices]
            bucket_moments = [[m[i] for i in indices] for m in moments]
            if group["fused"]:
                self._fused_bucket(
                    device, bucket_params, bucket_grads, bucket_moments, scalars, constants
                )
            else:
                self._foreach_bucket(
                    bucket_params, bucket_grads, bucket_moments, scalars, constants
                )

    def _foreach_bucket(
        self,
        params: list[Tensor],
        grads: list[Tensor],
        moments: list[list[Tensor]],
        scalars: NamedTuple,
        constants: NamedTuple,
    ) -> None:
        work_dtype = moments[0][0].dtype
        upcast = params[0].dtype != work_dtype
        work = [p.to(work_dtype) for p in params] if upcast else params
        work_grads = [g.to(work_dtype) for g in grads]
        self.foreach_update(work, work_grads, moments, scalars, constants)
        if upcast:
            torch._foreach_copy_(params, work)

    def _fused_bucket(
        self,
        device: torch.device,
        params: list[Tensor],
        grads: list[Tensor],
        moments: list[list[Tensor]],
        scalars: NamedTuple,
        constants: NamedTuple,
    ) -> None:
        if self._compiled_update is None:
            self._compiled_update = compile_group_update(f"fused_{type(self).__name__}_step")
        packed = torch.tensor([float(value) for value in scalars], dtype=moments[0][0].dtype)
        if device.type == "cuda":  # pinned, so the copy is asynchronous: no stream sync per step
            packed = packed.pin_memory().to(device, non_blocking=True)
        else:
            packed = packed.to(device)
        self._compiled_update(
            type(self).tensor_update, type(scalars), params, grads, moments, packed, constants
        )


def bias_corrections(beta1: float, beta2: float, t: int) -> tuple[float, float]:
    """(1 − β1^t, 1 − β2^t)."""
    return 1.0 - beta1**t, 1.0 - beta2**t
