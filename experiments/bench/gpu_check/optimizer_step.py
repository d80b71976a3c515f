"""The optimizer step of every preset against ``torch.optim.Adam(fused=True)``, timed with CUDA
events (issue 15, point 3).

Every preset of ``configs/optimizer/`` (``custom`` aside) is built from its YAML through Hydra's
``instantiate``, as a run builds it, with lr 1e-4 (no parameter drifts far over the timed steps)
and Adam-2k's freeze at 0 (the timed steps are past it), on its foreach path and on its fused
path; torch's fused and foreach Adam and foreach RAdam are the references. All step the same
float32 parameters with the same fixed gradients (``experiments.bench.optimizer_step`` does the
same on the CPU). After warm-up steps (a fused path compiles in its first), the implementations take
turns, one step each per round with the order rotating, each step between two CUDA events
(host clock on the CPU); the median over the rounds is reported, with its ratio to torch's fused
Adam (goal ≤ 1.15 for the fused paths) and the bytes an ideal step moves — each parameter, its
gradient and its state tensors read once, the parameter and the state written once (7 float32
words per parameter for Adam, 9 with AMSGrad's maximum, 5 for SGD with momentum) — per second,
against the H200's 4.8 TB/s and against the measured copy bandwidth. Compiling the fused paths
costs seconds each, so they are built in family order while the section has time; those left
out are listed. Each implementation also takes one step under
``torch.cuda.set_sync_debug_mode("warn")``: a step that makes the host wait counts its syncs.
"""

from __future__ import annotations

import inspect
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from experiments.bench.gpu_check.loop_checks import SYNC_MESSAGE
from experiments.bench.gpu_check.plan import NOT_IN_TINY, Sizes
from experiments.bench.gpu_check.record import Section
from experiments.bench.parameter_shapes import SHAPE_SETS, Shape

PRESETS = Path(__file__).resolve().parents[3] / "configs" / "optimizer"
H200_BANDWIDTH = 4.8e12  # bytes/s, the vendor's datasheet
LR = 1e-4
WARMUP = 6
ROUNDS_RESERVE_S = 5.0
FUSED_ORDER = ("adam", "radam", "adabound", "amsgrad", "amsbound", "adam_2k", "adamw",
               "adamw_radam_paper", "adam_eps", "radam_paper_threshold", "radam_skip",
               "radam_torch", "sgd", "adagrad", "rmsprop")  # fmt: skip
"""The order the fused paths are compiled in: one of each update family first."""
REFERENCE = "torch.Adam(fused)"
Factory = Callable[[list[torch.Tensor]], torch.optim.Optimizer]


def preset_factories() -> tuple[dict[str, Factory], dict[str, Factory]]:
    """({"<preset>(foreach)": factory}, {"<preset>(fused)": factory}) in ``FUSED_ORDER``; a
    class without a ``foreach`` flag (NT-ASGD) is timed as it is, as ``<preset>(default)``, and
    one without ``fused`` has no fused entry."""
    foreach, fused = {}, {}
    names = sorted(path.stem for path in PRESETS.glob("*.yaml") if path.stem != "custom")
    for name in sorted(names, key=lambda n: FUSED_ORDER.index(n) if n in FUSED_ORDER else 99):
        config = OmegaConf.load(PRESETS / f"{name}.yaml")
        config.lr = LR
        if "freeze_steps" in config:
            config.freeze_steps = 0
        partial = instantiate(config)
        flags = inspect.signature(partial.func).parameters
        if "foreach" in flags:
            foreach[f"{name}(foreach)"] = _with(partial, foreach=True)
        else:
            foreach[f"{name}(default)"] = _with(partial)
        if "fused" in flags:
            fused[f"{name}(fused)"] = _with(partial, fused=True, foreach=None)
    return foreach, fused


def _with(partial: Callable, **flags: object) -> Factory:
    return lambda params: partial(params, **flags)


def references() -> dict[str, Factory]:
    return {
        REFERENCE: lambda params: torch.optim.Adam(params, lr=LR, fused=True),
        "torch.Adam(foreach)": lambda params: torch.optim.Adam(params, lr=LR, foreach=True),
        "torch.RAdam(foreach)": lambda params: torch.optim.RAdam(params, lr=LR, foreach=True),
    }


class Timer:
    """Seconds of one call: CUDA events on CUDA, the host clock (the work is synchronous) on CPU."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.pending: list[tuple[str, object, object]] = []
        self.times: dict[str, list[float]] = {}

    def time(self, name: str, action: Callable[[], object]) -> None:
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            action()
            end.record()
            self.pending.append((name, start, end))
        else:
            started = time.perf_counter()
            action()
            self.times.setdefault(name, []).append(time.perf_counter() - started)

    def medians(self) -> dict[str, float]:
        if self.cuda:
            torch.cuda.synchronize()
            for name, start, end in self.pending:
                self.times.setdefault(name, []).append(start.elapsed_time(end) / 1e3)
            self.pending = []
        return {name: statistics.median(values) for name, values in self.times.items()}


def copy_bandwidth(device: torch.device, size_bytes: int) -> float:
    """Bytes per second of ``dst.copy_(src)`` (one read and one write per byte copied)."""
    source = torch.randn(size_bytes // 4, device=device)
    target = torch.empty_like(source)
    timer = Timer(device)
    for _ in range(3):
        target.copy_(source)
    for _ in range(15):
        timer.time("copy", lambda: target.copy_(source))
    return 2 * size_bytes / timer.medians()["copy"]


def syncs_per_step(optimizer: torch.optim.Optimizer, device: torch.device) -> int | None:
    if device.type != "cuda":
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            optimizer.step()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum(SYNC_MESSAGE in str(warning.message) for warning in caught)


def words_per_parameter(optimizer: torch.optim.Optimizer, param: torch.Tensor) -> int:
    """θ read and written, g read, each state tensor read and written."""
    state = [v for v in optimizer.state[param].values() if torch.is_tensor(v) and v.dim() > 0]
    return 3 + 2 * len(state)


def bench_shapes(
    shapes: list[Shape], device: torch.device, rounds: int, fused: bool, time_left: Callable
) -> dict:
    generator = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(s, generator=generator).to(device)) for s in shapes]
    for param in params:
        param.grad = torch.randn(param.shape, generator=generator).to(device)
    numel = sum(p.numel() for p in params)
    foreach_factories, fused_factories = preset_factories()
    candidates = {**references(), **foreach_factories}
    if fused:
        candidates.update(fused_factories)
    built, records, left_out = {}, {}, []
    for name, factory in candidates.items():
        if name.endswith("(fused)") and time_left() <= 0:
            left_out.append(name)
            continue
        try:
            optimizer = factory(params)
            started = time.perf_counter()
            optimizer.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            first = time.perf_counter() - started
        except (RuntimeError, TypeError, ValueError) as error:
            records[name] = {"available": False, "why": str(error).splitlines()[0][:200]}
            continue
        for _ in range(WARMUP - 1):
            optimizer.step()
        built[name] = optimizer
        records[name] = {
            "first_step_s": first,
            "syncs_per_step": syncs_per_step(optimizer, device),
            "words_per_parameter": words_per_parameter(optimizer, params[0]),
        }
    timer, names = Timer(device), list(built)
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            timer.time(name, built[name].step)
    medians = timer.medians()
    reference = medians[REFERENCE]
    for name, median in medians.items():
        moved = records[name]["words_per_parameter"] * 4 * numel / median
        records[name].update(
            median_ms=1e3 * median,
            vs_torch_fused_adam=median / reference,
            bytes_per_s=moved,
            fraction_of_h200=moved / H200_BANDWIDTH,
        )
    return {
        "parameters": numel,
        "tensors": len(params),
        "rounds": rounds,
        "fused_left_out": left_out,
        "implementations": records,
    }


def run(section: Section, sizes: Sizes, device: torch.device) -> None:
    """Section 2: the copy bandwidth, then each shape set (its share of the section's time)."""
    bandwidth = section.run(
        "copy bandwidth (dst.copy_(src), read + write)",
        lambda: {
            "bytes_per_s": copy_bandwidth(device, sizes.bandwidth_bytes),
            "size_bytes": sizes.bandwidth_bytes,
            "status": "measured",
        },
    )
    copy = bandwidth["bytes_per_s"] if bandwidth else None
    clock, count = section.clock, len(sizes.shape_sets)
    start, window = clock.elapsed(), clock.left(section.name)
    for index, name in enumerate(sizes.shape_sets):
        # Each shape set may compile fused paths until its share of the window is spent,
        # keeping ROUNDS_RESERVE_S for its timed rounds.
        end = start + window * (index + 1) / count - ROUNDS_RESERVE_S

        def compile_time_left(end: float = end) -> float:
            return end - clock.elapsed()

        section.run(
            f"optimizer step on {name} parameters",
            lambda n=name, left=compile_time_left: figures(n, sizes, device, copy, left),
            needs_s=3,
        )


def figures(
    name: str, sizes: Sizes, device: torch.device, copy: float | None, time_left: Callable
) -> dict:
    result = bench_shapes(
        SHAPE_SETS[name](), device, sizes.step_rounds, sizes.runs("fused"), time_left
    )
    ours = [key for key in result["implementations"] if key.endswith("(fused)")]
    for record in result["implementations"].values():
        if copy and "bytes_per_s" in record:
            record["fraction_of_copy_bandwidth"] = record["bytes_per_s"] / copy
    targets = {
        key: {"ratio": record["vs_torch_fused_adam"], "met": record["vs_torch_fused_adam"] <= 1.15}
        for key in ours
        if (record := result["implementations"][key]).get("vs_torch_fused_adam") is not None
        and not key.startswith(("sgd", "adagrad", "rmsprop"))
    }
    result.update(status="measured", targets_fused_le_1_15x_torch_fused_adam=targets)
    if not sizes.runs("fused"):
        result["why"] = "fused paths " + NOT_IN_TINY.format(step="fused")
    elif result["fused_left_out"]:
        result["why"] = f"{len(result['fused_left_out'])} fused paths left out (out of time)"
    return result
