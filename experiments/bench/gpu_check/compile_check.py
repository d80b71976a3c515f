"""A ``torch.compile``d training step equals the eager step.

The loop compiles the model (``task.compile``: ``torch.compile(model)``) and keeps the optimizer
eager, so the check does the same: copies of ResNet-20 with the same weights take one step on the
same batch (forward in the recipe's precision, cross entropy, backward, one eager step of the
RAdam preset), compiled or not, and are compared by ‖a − b‖ / ‖b‖ over the loss, the gradients,
the updated parameters and BatchNorm's running statistics.

- fp32: the compiled step against the eager one, within 1e-3 (a fused kernel adds its
  reductions in another order).
- bf16 autocast: both steps round differently, and a gradient that is a nearly cancelling sum
  can be off by 10–20 % from fp32's in either (measured on the CPU with batches of 8), so the
  compiled bf16 step must be as close to the eager fp32 step as the eager bf16 step is: its
  error at most 1.5 × eager bf16's plus 1e-3, quantity by quantity.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from experiments.bench.gpu_check.record import failed
from experiments.models.cifar_resnet import resnet20
from optimizers import RAdam

FP32_TOLERANCE = 1e-3
BF16_FACTOR, BF16_SLACK = 1.5, 1e-3


def _relative(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    pairs = list(zip(a, b, strict=True))
    difference = torch.sqrt(sum(((x.float() - y.float()) ** 2).sum() for x, y in pairs))
    size = torch.sqrt(sum((y.float() ** 2).sum() for _, y in pairs))
    return float(difference / size.clamp_min(1e-30))


def _step(model: torch.nn.Module, inputs, targets, precision: str, device) -> dict:
    optimizer = RAdam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        logits = model(inputs).float()
    loss = F.cross_entropy(logits, targets)
    loss.backward()
    grads = [p.grad.detach().clone() for p in model.parameters()]
    optimizer.step()
    return {
        "loss": [loss.detach()],
        "grads": grads,
        "params": [p.detach().clone() for p in model.parameters()],
        "buffers": [b.detach().clone() for b in model.buffers() if b.is_floating_point()],
    }


def compiled_step_equals_eager(device: torch.device, batch_size: int) -> dict:
    torch.manual_seed(0)
    base = resnet20().to(device)
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randn(batch_size, 3, 32, 32, generator=generator).to(device)
    targets = torch.randint(0, 10, (batch_size,), generator=generator).to(device)

    def step(precision: str, compiled: bool) -> dict:
        model = copy.deepcopy(base)
        return _step(torch.compile(model) if compiled else model, inputs, targets, precision,
                     device)  # fmt: skip

    eager32, compiled32 = step("fp32", False), step("fp32", True)
    eager16, compiled16 = step("bf16", False), step("bf16", True)
    problems, fp32, bf16 = [], {}, {}
    for key in eager32:
        fp32[key] = _relative(compiled32[key], eager32[key])
        if not fp32[key] <= FP32_TOLERANCE:  # NaN fails too
            problems.append(f"fp32 {key}: {fp32[key]:.2e} > {FP32_TOLERANCE:g}")
        eager_error = _relative(eager16[key], eager32[key])
        compiled_error = _relative(compiled16[key], eager32[key])
        bf16[key] = {
            "eager_bf16_vs_fp32": eager_error,
            "compiled_bf16_vs_fp32": compiled_error,
            "compiled_vs_eager_bf16": _relative(compiled16[key], eager16[key]),
        }
        if not compiled_error <= BF16_FACTOR * eager_error + BF16_SLACK:
            problems.append(f"bf16 {key}: {compiled_error:.2e} from fp32, eager {eager_error:.2e}")
    details = {
        "device": str(device), "batch_size": batch_size,
        "fp32_compiled_vs_eager": fp32, "fp32_tolerance": FP32_TOLERANCE, "bf16": bf16,
        "bf16_rule": f"compiled error ≤ {BF16_FACTOR} × eager error + {BF16_SLACK:g}",
    }  # fmt: skip
    return failed(details, problems)
