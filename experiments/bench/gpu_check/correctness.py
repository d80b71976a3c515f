"""Section 1, correctness on the device (issue 15, point 2; DDP: point 4), cheapest first."""

from __future__ import annotations

import torch

from experiments.bench.gpu_check import (
    compile_check,
    ddp_check,
    loop_checks,
    optimizer_checks,
    pipeline_checks,
    pytest_run,
)
from experiments.bench.gpu_check.plan import NOT_IN_TINY, Sizes
from experiments.bench.gpu_check.record import Outcome, Section

REFERENCE_CAP_S = 25.0
"""The float64 reference cases stop after this long (the rest of the section is worth more)."""


def run(section: Section, sizes: Sizes, device: torch.device) -> None:
    """The checks in order of value for their cost (the compiled ones last but DDP)."""
    left = lambda: section.clock.left(section.name)  # noqa: E731 - read at each call
    section.run(
        "cifar10 device pipeline: the CPU pipeline's batches",
        lambda: pipeline_checks.same_batches_as_cpu(device),
    )
    section.run(
        "cifar10 device pipeline: augmentation distribution",
        lambda: pipeline_checks.augmentation_distribution(device, sizes.pipeline_images),
    )
    section.run(
        "cifar10 device pipeline: exact mid-epoch resume",
        lambda: pipeline_checks.exact_resume(device),
    )
    section.run(
        "optimizer state_dict moved cpu → device → cpu mid-run",
        lambda: optimizer_checks.state_dict_moves(device, fused=sizes.runs("fused")),
    )
    fp32: dict = {}

    def sync_check() -> dict:
        details, fp32["run"] = loop_checks.no_sync_between_log_points(sizes, device)
        return details

    section.run("training loop: no synchronisation between log points", sync_check, needs_s=10)
    section.run(
        "training loop: bf16 autocast runs finish", lambda: bf16(sizes, device, fp32), needs_s=10
    )
    timeout = sizes.pytest_timeout_s
    section.run(
        "pytest: CUDA variants of the optimizer tests (foreach, per-tensor, bf16 "
        "parameters, state_dict onto CUDA)",
        lambda: pytest_run.run_pytest(
            pytest_run.CUDA_TESTS, "cuda and not fused", min(timeout, max(left(), 20))
        ),
        needs_s=15,
    )
    started = section.clock.elapsed()
    section.run(
        "optimizers against float64 reference math on the device",
        lambda: optimizer_checks.reference_on_device(
            device,
            sizes.reference_cases,
            lambda: min(left(), REFERENCE_CAP_S - section.clock.elapsed() + started),
        ),
        needs_s=5,
    )
    section.run(
        "torch.compile'd training step equals the eager step",
        lambda: compiled(sizes, device),
        needs_s=30,
    )
    section.run(
        "pytest: CUDA variants of the fused-path tests (compiled)",
        lambda: fused_tests(sizes, min(timeout, max(left(), 20))),
        needs_s=30,
    )
    section.run(
        "DDP: 2 ranks (gloo, one GPU) train like one process",
        lambda: ddp(sizes, device, "gloo", left()),
        needs_s=20,
    )
    section.run("DDP: 2 ranks with NCCL", lambda: ddp(sizes, device, "nccl", left()))


def bf16(sizes: Sizes, device: torch.device, fp32: dict) -> dict:
    if "run" not in fp32:
        raise Outcome("skipped", "the fp32 run (the sync check) did not finish")
    return loop_checks.bf16_runs_finish(sizes, device, fp32["run"])


def fused_tests(sizes: Sizes, timeout_s: float) -> dict:
    if not sizes.runs("fused"):
        raise Outcome("skipped", NOT_IN_TINY.format(step="fused"))
    return pytest_run.run_pytest(pytest_run.CUDA_TESTS, "cuda and fused", timeout_s)


def compiled(sizes: Sizes, device: torch.device) -> dict:
    if not sizes.runs("compile"):
        raise Outcome("skipped", NOT_IN_TINY.format(step="compile"))
    return compile_check.compiled_step_equals_eager(device, sizes.batch_size)


def ddp(sizes: Sizes, device: torch.device, backend: str, left: float) -> dict:
    if backend == "gloo" and not sizes.runs("ddp"):
        raise Outcome(
            "skipped",
            NOT_IN_TINY.format(step="ddp") + "; on the CPU the DDP tests "
            "are tests/experiments/test_distributed.py",
        )
    return ddp_check.two_ranks_like_one(device, backend, max(left, 60.0))
