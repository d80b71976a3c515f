"""The sizes of each mode and the clock of the cumulative section budget (docs/gpu_check.md)."""

import time
from dataclasses import dataclass, field, replace

NOT_IN_TINY = "left out of the tiny CPU mode (--include {step} runs it)"
SHARES = {"correctness": 0.40, "optimizer_step": 0.58, "throughput": 0.82, "packing": 1.0,
          "defaults": 1.0}  # fmt: skip


@dataclass(frozen=True)
class Sizes:
    """The CUDA record's sizes; ``TINY`` overrides them (optional steps only if ``include``d)."""

    mode: str = "cuda"
    budget_s: float = 330.0
    reference_cases: int | None = None  # float64 reference cases on the device (None: all)
    pipeline_images: int = 4050  # augmentation-distribution images (50 per crop cell)
    loop_steps: int = 420  # updates of the real-loop runs (bf16, sync check)
    loop_log_every: int = 10
    pytest_timeout_s: float = 90.0
    shape_sets: tuple[str, ...] = ("resnet18", "transformer_iwslt")
    step_rounds: int = 50  # timed optimizer steps per implementation (alternating)
    synthetic_images: int | None = None  # None: the recipe's real 50,000
    batch_size: int = 128
    throughput_steps: int = 150  # updates per timed run (the first windows are warm-up)
    throughput_repeats: int = 2
    overhead_steps: int = 40  # N of the loop-vs-bare N / 3N slope
    members: tuple[int, ...] = (4, 8, 16)
    packing_steps: int = 40
    packing_warmup: int = 8
    include: frozenset[str] = field(default_factory=frozenset)

    @property
    def tiny(self) -> bool:
        return self.mode == "cpu-tiny"

    def runs(self, step: str) -> bool:
        return not self.tiny or step in self.include

    @classmethod
    def for_mode(cls, cuda: bool, budget_s: float | None = None, include=frozenset()) -> "Sizes":
        sizes = cls(include=include) if cuda else cls(include=include, **TINY)
        return replace(sizes, budget_s=budget_s or sizes.budget_s)


TINY = dict(mode="cpu-tiny", budget_s=600.0, reference_cases=2, pipeline_images=810,
            loop_steps=8, loop_log_every=4, pytest_timeout_s=300.0, shape_sets=("resnet20",),
            step_rounds=4, synthetic_images=48, batch_size=8,
            throughput_steps=6, throughput_repeats=1, overhead_steps=2, members=(2,),
            packing_steps=3, packing_warmup=1)  # fmt: skip


class Clock:
    def __init__(self, budget_s: float) -> None:
        self.budget_s, self.started = budget_s, time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def deadline(self, section: str) -> float:
        return SHARES[section] * self.budget_s

    def left(self, section: str) -> float:
        return self.deadline(section) - self.elapsed()
