"""Section 1: correctness on the device, cheapest first (docs/gpu_check.md)."""

import copy

import torch
import torch.nn.functional as F

from experiments.bench.gpu_check import device_checks, loop_runs
from experiments.bench.gpu_check.plan import Sizes
from experiments.bench.gpu_check.record import Outcome, Section, failed, optional
from experiments.bench.gpu_check.subprocess_checks import run_pytest, two_ranks_like_one
from experiments.models.cifar_resnet import resnet20
from optimizers import RAdam

REFERENCE_CAP_S = 25.0  # the float64 reference cases stop after this long


def run(section: Section, sizes: Sizes, device: torch.device) -> None:
    left, fp32, clock = section.left, {}, section.clock
    pytest_s = lambda: min(sizes.pytest_timeout_s, max(left(), 20))  # noqa: E731
    started: list[float] = []

    def sync_check() -> dict:
        details, fp32["run"] = loop_runs.no_sync_between_log_points(sizes, device)
        return details

    def bf16() -> dict:
        if "run" not in fp32:
            raise Outcome("skipped", "the fp32 run (the sync check) did not finish")
        return loop_runs.bf16_runs_finish(sizes, device, fp32["run"])

    def ddp(backend: str) -> dict:
        return two_ranks_like_one(device, backend, max(left(), 60.0))

    def reference() -> dict:
        started.append(clock.elapsed())
        time_left = lambda: min(left(), REFERENCE_CAP_S - clock.elapsed() + started[0])  # noqa: E731
        return device_checks.reference_on_device(device, sizes.reference_cases, time_left)

    items = [
        ("cifar10 device pipeline: the CPU pipeline's batches", None,
         lambda: device_checks.same_batches_as_cpu(device)),
        ("cifar10 device pipeline: augmentation distribution", None,
         lambda: device_checks.augmentation_distribution(device, sizes.pipeline_images)),
        ("cifar10 device pipeline: exact mid-epoch resume", None,
         lambda: device_checks.exact_resume(device)),
        ("optimizer state_dict moved cpu → device → cpu mid-run", None,
         lambda: device_checks.state_dict_moves(device, fused=sizes.runs("fused"))),
        ("training loop: no synchronisation between log points", 10, sync_check),
        ("training loop: bf16 autocast runs finish", 10, bf16),
        ("pytest: CUDA variants of the optimizer tests (foreach, per-tensor, bf16 parameters, "
         "state_dict onto CUDA)", 15, lambda: run_pytest("cuda and not fused", pytest_s())),
        ("optimizers against float64 reference math on the device", 5, reference),
        ("torch.compile'd training step equals the eager step", 30, lambda: optional(
            sizes, "compile", lambda: compiled_step_equals_eager(device, sizes.batch_size))),
        ("pytest: CUDA variants of the fused-path tests (compiled)", 30, lambda: optional(
            sizes, "fused", lambda: run_pytest("cuda and fused", pytest_s()))),
        ("DDP: 2 ranks (gloo, one GPU) train like one process", 20, lambda: optional(
            sizes, "ddp", lambda: ddp("gloo"),
            "; on the CPU the DDP tests are tests/experiments/test_distributed.py")),
        ("DDP: 2 ranks with NCCL", None, lambda: ddp("nccl")),
    ]  # fmt: skip
    for name, needs_s, check in items:
        section.run(name, check, needs_s=needs_s)


FP32_TOLERANCE = 1e-3
BF16_FACTOR, BF16_SLACK = 1.5, 1e-3


def _relative(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    pairs = list(zip(a, b, strict=True))
    difference = torch.sqrt(sum(((x.float() - y.float()) ** 2).sum() for x, y in pairs))
    size = torch.sqrt(sum((y.float() ** 2).sum() for _, y in pairs))
    return float(difference / size.clamp_min(1e-30))


def compiled_step_equals_eager(device: torch.device, batch_size: int) -> dict:
    torch.manual_seed(0)
    base = resnet20().to(device)
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randn(batch_size, 3, 32, 32, generator=generator).to(device)
    targets = torch.randint(0, 10, (batch_size,), generator=generator).to(device)

    def step(precision: str, compiled: bool) -> dict:
        model = torch.compile(copy.deepcopy(base)) if compiled else copy.deepcopy(base)
        optimizer = RAdam(model.parameters(), lr=3e-3, weight_decay=1e-4)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = model(inputs).float()
        (loss := F.cross_entropy(logits, targets)).backward()
        grads = [p.grad.detach().clone() for p in model.parameters()]
        optimizer.step()
        params = [p.detach().clone() for p in model.parameters()]
        buffers = [b.detach().clone() for b in model.buffers() if b.is_floating_point()]
        return {"loss": [loss.detach()], "grads": grads, "params": params, "buffers": buffers}

    eager32, compiled32 = step("fp32", False), step("fp32", True)
    eager16, compiled16 = step("bf16", False), step("bf16", True)
    problems, fp32, bf16 = [], {}, {}
    for key in eager32:
        fp32[key] = _relative(compiled32[key], eager32[key])
        if not fp32[key] <= FP32_TOLERANCE:  # NaN fails too
            problems.append(f"fp32 {key}: {fp32[key]:.2e} > {FP32_TOLERANCE:g}")
        eager_error = _relative(eager16[key], eager32[key])
        compiled_error = _relative(compiled16[key], eager32[key])
        bf16[key] = {"eager_bf16_vs_fp32": eager_error, "compiled_bf16_vs_fp32": compiled_error}
        bf16[key]["compiled_vs_eager_bf16"] = _relative(compiled16[key], eager16[key])
        if not compiled_error <= BF16_FACTOR * eager_error + BF16_SLACK:
            problems.append(f"bf16 {key}: {compiled_error:.2e} from fp32, eager {eager_error:.2e}")
    details = {
        "device": str(device), "batch_size": batch_size,
        "fp32_compiled_vs_eager": fp32, "fp32_tolerance": FP32_TOLERANCE, "bf16": bf16,
        "bf16_rule": f"compiled error ≤ {BF16_FACTOR} × eager error + {BF16_SLACK:g}",
    }  # fmt: skip
    return failed(details, problems)
