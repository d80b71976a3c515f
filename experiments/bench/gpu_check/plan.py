"""How big each step of the GPU check is, and the clock that keeps it inside its slot.

Two modes run the same steps: ``cuda`` (the record: real shapes, a budget of about five minutes
so a second attempt still fits a 15-minute slot on one GPU) and ``cpu-tiny`` (no CUDA: tiny
sizes, about a minute, so ``make test`` keeps the script working). The budget is split
over the sections in priority order (correctness, optimizer step, ResNet-20 throughput,
packing): each section may run until its share of the budget, counted from the start, is
spent, so time a section leaves unused goes to the next, and a section that overruns shortens
the later ones instead of the whole run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

NOT_IN_TINY = "left out of the tiny CPU mode (--include {step} runs it)"
SECTIONS = ("correctness", "optimizer_step", "throughput", "packing")
SHARES = {"correctness": 0.40, "optimizer_step": 0.58, "throughput": 0.82, "packing": 1.0,
          "defaults": 1.0}  # fmt: skip
"""Cumulative fraction of the budget each section may use up to (counted from the start); the
defaults only read the others' figures."""


@dataclass(frozen=True)
class Sizes:
    """Every size the sections use; ``for_mode`` gives the record's and the tiny run's."""

    mode: str
    budget_s: float
    # correctness
    reference_cases: int | None  # float64 reference cases run on the device (None: all)
    pipeline_images: int  # images of the augmentation-distribution check (50 per crop cell)
    loop_steps: int  # real-loop runs (bf16, sync check): updates
    loop_log_every: int
    pytest_timeout_s: float
    # optimizer step
    shape_sets: tuple[str, ...]
    step_rounds: int  # timed steps per implementation (alternating)
    bandwidth_bytes: int  # buffer of the copy-bandwidth measurement
    # ResNet-20 throughput
    synthetic_images: int | None  # None: the recipe's real 50,000 (experiments.tasks.cifar10)
    batch_size: int
    throughput_steps: int  # updates per timed run (the first windows are warm-up)
    throughput_repeats: int
    overhead_steps: int  # N of bench_train's N / 3N slope (loop vs bare)
    # packing
    members: tuple[int, ...]
    packing_steps: int
    packing_warmup: int
    include: frozenset[str] = field(default_factory=frozenset)
    """Optional steps the tiny mode leaves out unless asked: ``compile``, ``ddp``, ``fused``."""

    @property
    def tiny(self) -> bool:
        return self.mode == "cpu-tiny"

    def runs(self, step: str) -> bool:
        """Whether an optional step runs: always on CUDA, on request in the tiny mode."""
        return not self.tiny or step in self.include

    @classmethod
    def for_mode(
        cls, cuda: bool, budget_s: float | None = None, include: frozenset[str] = frozenset()
    ) -> Sizes:
        if cuda:
            return cls(
                mode="cuda",
                budget_s=budget_s or 330.0,
                reference_cases=None,
                pipeline_images=4050,
                loop_steps=420,
                loop_log_every=10,
                pytest_timeout_s=90.0,
                shape_sets=("resnet18", "transformer_iwslt"),
                step_rounds=50,
                bandwidth_bytes=2 << 30,
                synthetic_images=None,
                batch_size=128,
                throughput_steps=150,
                throughput_repeats=2,
                overhead_steps=40,
                members=(4, 8, 16),
                packing_steps=40,
                packing_warmup=8,
                include=include,
            )
        return cls(
            mode="cpu-tiny",
            budget_s=budget_s or 600.0,
            reference_cases=2,
            pipeline_images=810,
            loop_steps=8,
            loop_log_every=4,
            pytest_timeout_s=300.0,
            shape_sets=("resnet20",),
            step_rounds=4,
            bandwidth_bytes=4 << 20,
            synthetic_images=48,
            batch_size=8,
            throughput_steps=6,
            throughput_repeats=1,
            overhead_steps=2,
            members=(2,),
            packing_steps=3,
            packing_warmup=1,
            include=include,
        )


class Clock:
    """Seconds since the start, and each section's deadline (see the module docstring)."""

    def __init__(self, budget_s: float) -> None:
        self.budget_s = budget_s
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def deadline(self, section: str) -> float:
        """Seconds since the start by which ``section`` should be done."""
        return SHARES[section] * self.budget_s

    def left(self, section: str) -> float:
        return self.deadline(section) - self.elapsed()
