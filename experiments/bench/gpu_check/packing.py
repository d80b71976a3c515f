"""Section 4: K ResNet-20 members packed in one process against K processes (docs/gpu_check.md)."""

import copy
import itertools
import multiprocessing
import statistics
import time
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state

import optimizers
from data.cifar10.device_pipeline import DeviceCifarBatches
from experiments.bench.gpu_check.device_checks import random_cifar
from experiments.bench.gpu_check.plan import Sizes
from experiments.bench.gpu_check.record import Section, failed
from experiments.models.cifar_resnet import resnet20

OptimizerFactory = Callable[[list[Tensor]], torch.optim.Optimizer]
PACKING_IMAGES = 10_000  # per member on CUDA: the step's cost does not depend on the count
FLOAT64_TOLERANCE, FLOAT32_TOLERANCE = 1e-10, 1e-4
BIT_CASES = {
    "SGD(momentum)": lambda p: sgd(p),
    "Adam": lambda p: optimizers.Adam(p, lr=1e-2, weight_decay=0.1),
    "RAdam": lambda p: optimizers.RAdam(p, lr=1e-2, weight_decay=0.1),
    "AdaBound": lambda p: optimizers.AdaBound(p, lr=1e-2),
    "AMSGrad": lambda p: optimizers.AMSGrad(p, lr=1e-2),
}


def sgd(params: list[Tensor]) -> torch.optim.Optimizer:  # the ResNet-20 recipe's baseline
    return torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-4, foreach=True)


def members(count: int, seed: int) -> list[nn.Module]:
    return [(torch.manual_seed(seed + index), resnet20())[1] for index in range(count)]


class PackedMembers:
    """K models as one: stacked parameters and buffers, one vmapped step on the summed losses."""

    def __init__(self, models: list[nn.Module], optimizer: OptimizerFactory) -> None:
        params, self.buffers = stack_module_state(models)
        self.params = {name: value.detach().requires_grad_() for name, value in params.items()}
        self.base = copy.deepcopy(models[0]).to("meta").train()
        self.optimizer = optimizer(list(self.params.values()))

    def _member_loss(self, params, buffers, inputs: Tensor, targets: Tensor) -> Tensor:
        return F.cross_entropy(functional_call(self.base, (params, buffers), (inputs,)), targets)

    def step(self, batches: list[tuple[Tensor, Tensor]]) -> Tensor:
        inputs, targets = torch.stack([x for x, _ in batches]), torch.stack([y for _, y in batches])
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


def sources(count: int, images: int, batch: int, seed: int, device: torch.device) -> list:
    """Endless full batches (an epoch's shorter last one skipped) of ``count`` data orders."""
    data, labels = random_cifar(images, seed)

    def endless(source: DeviceCifarBatches) -> Iterator[tuple[Tensor, Tensor]]:
        for epoch in itertools.count():
            yield from ((x, y) for x, y in source.batches(epoch) if len(y) == batch)

    return [endless(DeviceCifarBatches(data, labels, batch, seed=seed + i, device=device))
            for i in range(count)]  # fmt: skip


def packed_matches_separate(count: int, steps: int, batch: int, optimizer, dtype) -> dict:
    """Worst relative difference of packed and separate runs: tensor, whole model, loss."""
    models = [model.to(dtype) for model in members(count, seed=10)]
    packed = PackedMembers(models, optimizer)
    optimizers = [optimizer(list(model.parameters())) for model in models]
    streams = sources(count, 4 * batch, batch, seed=3, device=torch.device("cpu"))
    worst_loss = 0.0
    for _ in range(steps):
        batches = [(x.to(dtype), y) for x, y in (next(stream) for stream in streams)]
        losses = packed.step(batches)
        for loss, model, opt, (x, y) in zip(losses, models, optimizers, batches, strict=True):
            alone = separate_step(model, opt, x, y)
            worst_loss = max(worst_loss, float((loss - alone).abs() / alone.abs()))
    worst, whole = 0.0, 0.0
    stacked = {**packed.params, **packed.buffers}
    for index, model in enumerate(models):
        tensors = {**dict(model.named_parameters()), **dict(model.named_buffers())}
        pairs = [(stacked[name][index].detach().double(), tensor.detach().double())
                 for name, tensor in tensors.items()]  # fmt: skip
        for got, expected in pairs:
            worst = max(worst, float((got - expected).norm() / expected.norm().clamp_min(1e-30)))
        difference = torch.cat([(got - expected).flatten() for got, expected in pairs])
        size = torch.cat([expected.flatten() for _, expected in pairs]).norm()
        whole = max(whole, float(difference.norm() / size))
    worst_rel = {"worst_rel_tensor": worst, "worst_rel_model": whole, "worst_rel_loss": worst_loss}
    return {"members": count, "steps": steps, "batch": batch, "dtype": str(dtype), **worst_rel}


def elementwise_step_matches(factory: OptimizerFactory, count: int, steps: int, device) -> bool:
    generator = torch.Generator().manual_seed(4)
    shapes = [(16, 3, 3, 3), (16,), (10, 64), (10,)]
    stacked = [torch.randn((count, *s), generator=generator).to(device) for s in shapes]
    grads = [[torch.randn((count, *s), generator=generator).to(device) for s in shapes]
             for _ in range(steps)]  # fmt: skip
    own = [[nn.Parameter(t[i].clone()) for t in stacked] for i in range(count)]
    packed = [nn.Parameter(t.clone()) for t in stacked]
    runs = [(packed, factory(packed), None)]
    runs += [(params, factory(params), i) for i, params in enumerate(own)]
    for step_grads in grads:
        for params, optimizer, i in runs:
            for param, grad in zip(params, step_grads, strict=True):
                param.grad = (grad if i is None else grad[i]).clone()
            optimizer.step()
    for params, optimizer, i in runs[1:]:
        for param, stacked in zip(params, packed, strict=True):
            state = [(k, v) for k, v in runs[0][1].state[stacked].items() if torch.is_tensor(v)]
            pairs = [(optimizer.state[param][k], v) for k, v in state if v.dim()]
            if not all(torch.equal(mine, theirs[i]) for mine, theirs in [(param, stacked), *pairs]):
                return False
    return True


def rate(samples: int, step: Callable, warmup: int, steps: int, device, ready=None) -> dict:
    """Samples/s of ``step`` (``samples`` per call) after ``warmup`` calls and ``ready()``."""
    sync = torch.cuda.synchronize if device.type == "cuda" else lambda: None
    for _ in range(warmup):
        step()
    sync()
    (ready or (lambda: None))()
    start = time.time()
    for _ in range(steps):
        step()
    sync()
    end = time.time()
    return {"samples_per_s": samples * steps / (end - start), "start": start, "end": end,
            "status": "measured"}  # fmt: skip


def single_step(images: int, batch: int, device, seed: int = 0) -> Callable:
    model = members(1, seed=seed)[0].to(device)
    optimizer = sgd(list(model.parameters()))
    (stream,) = sources(1, images, batch, seed=seed, device=device)
    return lambda: separate_step(model, optimizer, *next(stream))


def _worker(rank: int, shape: tuple, barrier, results) -> None:
    torch.set_num_threads(1)
    images, batch, warmup, steps, device = shape
    step = single_step(images, batch, device, seed=rank)
    results.put(rate(batch, step, warmup, steps, device, lambda: barrier.wait(timeout=300)))


def processes_rate(count: int, shape: tuple, timeout_s: float) -> dict:
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(count), context.Queue()
    workers = [context.Process(target=_worker, args=(rank, shape, barrier, results))
               for rank in range(count)]  # fmt: skip
    for worker in workers:
        worker.start()
    try:
        found = [results.get(timeout=timeout_s) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=5)
            worker.kill()
    span = max(r["end"] for r in found) - min(r["start"] for r in found)
    own = statistics.median(r["samples_per_s"] for r in found)
    samples = count * shape[1] * shape[3]  # K × batch × timed steps
    return {"samples_per_s": samples / span, "per_process_samples_per_s": own, "status": "measured"}


def equality() -> dict:
    float64 = packed_matches_separate(2, 2, 4, sgd, torch.float64)
    float32 = packed_matches_separate(2, 1, 4, sgd, torch.float32)
    details = {"float64_2_steps": float64, "float32_1_step": float32,
               "tolerance": {"float64_per_tensor": FLOAT64_TOLERANCE,
                             "float32_whole_model": FLOAT32_TOLERANCE}}  # fmt: skip
    return failed(details, [
        float64["worst_rel_tensor"] > FLOAT64_TOLERANCE and "float64 tensors differ",
        float32["worst_rel_model"] > FLOAT32_TOLERANCE and "float32 models differ",
        float32["worst_rel_loss"] > FLOAT32_TOLERANCE / 10 and "float32 losses differ",
    ])  # fmt: skip


def bit_identity(device: torch.device) -> dict:
    results = {name: elementwise_step_matches(f, 3, 8, device) for name, f in BIT_CASES.items()}
    differ = [name for name, same in results.items() if not same]
    return failed({"results": results}, [bool(differ) and f"not bit-identical: {differ}"])


def decision(rates: dict, sizes: Sizes) -> dict:
    def ratio(count: int, other: str) -> float | None:
        packed, base = rates.get(f"packed_{count}"), rates.get(other)
        return packed / base if packed and base else None

    ratios = {count: {"packed_vs_processes": ratio(count, f"processes_{count}"),
                      "packed_vs_one_run": ratio(count, "single")}
              for count in sizes.members}  # fmt: skip
    measured = [r["packed_vs_processes"] for r in ratios.values() if r["packed_vs_processes"]]
    verdict = "undecided" if not measured else (
        "build a packed mode" if max(measured) >= 1.5 else "no packed mode")  # fmt: skip
    return {"ratios": ratios, "rule": "packed ≥ 1.5 × K processes for some K",
            "decision": verdict, "status": "measured",
            "why": "CPU tiny sizes: not a decision" if sizes.tiny else None}  # fmt: skip


def run(section: Section, sizes: Sizes, device: torch.device) -> None:
    images = 4 * sizes.batch_size if sizes.tiny else PACKING_IMAGES
    batch, timing, rates = sizes.batch_size, (sizes.packing_warmup, sizes.packing_steps, device), {}
    section.run("packed members equal separate runs (CPU, float64 and float32)", equality)
    section.run(f"element-wise optimizer steps on stacked members are bit-identical ({device})",
                lambda: bit_identity(device))  # fmt: skip

    def packed(count: int) -> dict:
        model = PackedMembers([m.to(device) for m in members(count, seed=0)], sgd)
        streams = sources(count, images, batch, seed=0, device=device)
        return rate(count * batch, lambda: model.step([next(s) for s in streams]), *timing)

    def processes(count: int) -> dict:
        return processes_rate(count, (images, batch, *timing), max(section.left(), 120))

    items = [("single", "one run: samples/s", None,
              lambda: rate(batch, single_step(images, batch, device), *timing))]  # fmt: skip
    items += [(f"packed_{k}", f"{k} packed members: samples/s of all", 3, lambda k=k: packed(k))
              for k in sizes.members]  # fmt: skip
    items += [(f"processes_{k}", f"{k} separate processes sharing the device: samples/s of all",
               10, lambda k=k: processes(k)) for k in sizes.members]  # fmt: skip
    for key, name, needs_s, item in items:
        found = section.run(name, item, needs_s=needs_s)
        rates[key] = found and found["samples_per_s"]
    section.run("packing: ratios and the decision", lambda: decision(rates, sizes))
