"""K ResNet-20 members trained as one model in one process (issue 15, point 5).

``PackedMembers`` stacks K models' parameters and buffers (``torch.func.stack_module_state``)
and maps one functional training step over them (``torch.vmap`` of ``functional_call``): the
inputs are K × B images, each member's from its own data order, and BatchNorm's running
statistics are passed in as batched buffers, so each member updates its own. Summing the K
members' mean losses gives each member exactly its own gradient (they share no parameter), and
an element-wise optimizer step on the stacked tensors is each member's step, coordinate by
coordinate (``elementwise_step_matches``); a step with a global reduction (gradient-norm
clipping) would need a per-member norm instead. ``packed_matches_separate`` compares K packed
members with K separate runs.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state

from data.cifar10.device_pipeline import DeviceCifarBatches
from experiments.models.cifar_resnet import resnet20

OptimizerFactory = Callable[[list[Tensor]], torch.optim.Optimizer]


def sgd(params: list[Tensor]) -> torch.optim.Optimizer:
    """The ResNet-20 recipe's SGD baseline: lr 0.1, momentum 0.9, weight decay 1e-4."""
    return torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-4, foreach=True)


def members(count: int, seed: int) -> list[nn.Module]:
    models = []
    for index in range(count):
        torch.manual_seed(seed + index)
        models.append(resnet20())
    return models


class PackedMembers:
    """K models trained as one: stacked parameters, one vmapped functional step."""

    def __init__(self, models: list[nn.Module], optimizer: OptimizerFactory) -> None:
        params, self.buffers = stack_module_state(models)
        self.params = {name: value.detach().requires_grad_() for name, value in params.items()}
        self.base = copy.deepcopy(models[0]).to("meta")
        self.base.train()
        self.optimizer = optimizer(list(self.params.values()))

    def _member_loss(self, params, buffers, inputs: Tensor, targets: Tensor) -> Tensor:
        logits = functional_call(self.base, (params, buffers), (inputs,))
        return F.cross_entropy(logits, targets)

    def step(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """One update of every member: ``inputs`` K × B × 3 × 32 × 32, ``targets`` K × B."""
        losses = torch.vmap(self._member_loss)(self.params, self.buffers, inputs, targets)
        self.optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()
        self.optimizer.step()
        return losses.detach()


def separate_step(model: nn.Module, optimizer, inputs: Tensor, targets: Tensor) -> Tensor:
    loss = F.cross_entropy(model(inputs), targets)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def endless(source: DeviceCifarBatches) -> Iterator[tuple[Tensor, Tensor]]:
    """Full batches of epoch after epoch (an epoch's shorter last batch is skipped)."""
    for epoch in itertools.count():
        for inputs, targets in source.batches(epoch):
            if len(targets) == source.batch_size:
                yield inputs, targets


def sources(count: int, images: int, batch: int, seed: int, device: torch.device) -> list:
    generator = torch.Generator().manual_seed(seed)
    data = torch.randint(0, 256, (images, 3, 32, 32), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (images,), generator=generator)
    return [
        endless(DeviceCifarBatches(data, labels, batch, seed=seed + i, device=device))
        for i in range(count)
    ]


def packed_matches_separate(
    count: int, steps: int, batch: int, optimizer: OptimizerFactory, dtype: torch.dtype
) -> dict:
    """Largest ‖packed − separate‖ / ‖separate‖ over every parameter and buffer after ``steps``
    updates on the CPU in ``dtype``, and the losses' largest relative difference. In float64
    the two agree to ≈ 1e-14 tensor by tensor. In float32 the batched convolutions add in
    another order, and a BatchNorm bias's gradient is a sum that nearly cancels, so after one
    step a small tensor can differ by 1e-2 of its own norm while the loss agrees to ≈ 1e-7 and
    the whole model to ≈ 1e-5 (measured); the differences then grow step by step, as any two
    float32 runs' do."""
    device = torch.device("cpu")
    models = [model.to(dtype) for model in members(count, seed=10)]
    packed = PackedMembers(models, optimizer)
    optimizers = [optimizer(list(model.parameters())) for model in models]
    streams = sources(count, 4 * batch, batch, seed=3, device=device)
    worst_loss = 0.0
    for _ in range(steps):
        pairs = [(x.to(dtype), y) for x, y in (next(stream) for stream in streams)]
        losses = packed.step(torch.stack([x for x, _ in pairs]), torch.stack([y for _, y in pairs]))
        for index, (model, opt, (x, y)) in enumerate(zip(models, optimizers, pairs, strict=True)):
            loss = separate_step(model, opt, x, y)
            worst_loss = max(worst_loss, float((losses[index] - loss).abs() / loss.abs()))
    worst, whole = 0.0, 0.0
    stacked = {**packed.params, **packed.buffers}
    for index, model in enumerate(models):
        tensors = {**dict(model.named_parameters()), **dict(model.named_buffers())}
        pairs = [
            (stacked[name][index].detach().double(), tensor.detach().double())
            for name, tensor in tensors.items()
        ]
        for got, expected in pairs:
            worst = max(worst, float((got - expected).norm() / expected.norm().clamp_min(1e-30)))
        difference = torch.cat([(got - expected).flatten() for got, expected in pairs])
        whole = max(
            whole, float(difference.norm() / torch.cat([e.flatten() for _, e in pairs]).norm())
        )
    return {
        "members": count,
        "steps": steps,
        "batch": batch,
        "dtype": str(dtype),
        "worst_rel_tensor": worst,
        "worst_rel_model": whole,
        "worst_rel_loss": worst_loss,
    }


def elementwise_step_matches(
    factory: OptimizerFactory, count: int, steps: int, device: torch.device
) -> bool:
    """Whether one optimizer on stacked K × … tensors gives bit for bit the K members' own
    optimizers' parameters and state after ``steps`` steps of the same gradients."""
    generator = torch.Generator().manual_seed(4)
    shapes = [(16, 3, 3, 3), (16,), (10, 64), (10,)]
    stacked = [torch.randn((count, *s), generator=generator).to(device) for s in shapes]
    grads = [
        [torch.randn((count, *s), generator=generator).to(device) for s in shapes]
        for _ in range(steps)
    ]
    own = [[nn.Parameter(t[i].clone()) for t in stacked] for i in range(count)]
    packed = [nn.Parameter(t.clone()) for t in stacked]
    packed_optimizer = factory(packed)
    own_optimizers = [factory(params) for params in own]
    for step_grads in grads:
        for param, grad in zip(packed, step_grads, strict=True):
            param.grad = grad.clone()
        packed_optimizer.step()
        for i, (params, optimizer) in enumerate(zip(own, own_optimizers, strict=True)):
            for param, grad in zip(params, step_grads, strict=True):
                param.grad = grad[i].clone()
            optimizer.step()
    for i, params in enumerate(own):
        for param, stacked_param in zip(params, packed, strict=True):
            if not torch.equal(param, stacked_param[i]):
                return False
            own_state = own_optimizers[i].state[param]
            for key, value in packed_optimizer.state[stacked_param].items():
                if torch.is_tensor(value) and value.dim() > 0:
                    if not torch.equal(own_state[key], value[i]):
                        return False
    return True
