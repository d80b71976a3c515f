"""Section 2: every preset's optimizer step against torch's fused Adam (docs/gpu_check.md)."""

import functools
import inspect
import statistics
from collections.abc import Callable
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from experiments.bench.gpu_check.loop_runs import SyncRecorder
from experiments.bench.gpu_check.plan import NOT_IN_TINY, Clock, Sizes
from experiments.bench.gpu_check.record import Section
from experiments.bench.optimizer_step import parameters_with_gradients, rotating, timed
from experiments.bench.parameter_shapes import SHAPE_SETS

PRESETS = Path(__file__).resolve().parents[3] / "configs" / "optimizer"
H200_BANDWIDTH = 4.8e12  # bytes/s, the vendor's datasheet
LR, WARMUP, ROUNDS_RESERVE_S = 1e-4, 6, 5.0
FUSED_ORDER = ("adam", "radam", "adabound", "amsgrad", "amsbound", "adam_2k", "adamw",
               "adamw_radam_paper", "adam_eps", "radam_paper_threshold", "radam_skip",
               "radam_torch", "sgd", "adagrad", "rmsprop")  # fmt: skip
REFERENCE = "torch.Adam(fused)"


def factories(fused: bool) -> dict[str, Callable]:
    """torch's references, every preset on its foreach path, then its fused path (``fused``)."""
    found: dict[str, Callable] = {
        REFERENCE: functools.partial(torch.optim.Adam, lr=LR, fused=True),
        "torch.Adam(foreach)": functools.partial(torch.optim.Adam, lr=LR, foreach=True),
        "torch.RAdam(foreach)": functools.partial(torch.optim.RAdam, lr=LR, foreach=True),
    }
    fused_paths: dict[str, Callable] = {}
    names = sorted(path.stem for path in PRESETS.glob("*.yaml") if path.stem != "custom")
    for name in sorted(names, key=lambda n: FUSED_ORDER.index(n) if n in FUSED_ORDER else 99):
        config = OmegaConf.load(PRESETS / f"{name}.yaml")
        config.lr = LR
        if "freeze_steps" in config:
            config.freeze_steps = 0  # the timed steps are past the freeze
        partial = instantiate(config)
        flags = inspect.signature(partial.func).parameters
        foreach = {"foreach": True} if "foreach" in flags else {}
        label = f"{name}({'foreach' if foreach else 'default'})"
        found[label] = functools.partial(partial, **foreach)
        if fused and "fused" in flags:
            fused_paths[f"{name}(fused)"] = functools.partial(partial, fused=True, foreach=None)
    return {**found, **fused_paths}


def medians(built: dict[str, torch.optim.Optimizer], rounds: int, cuda: bool) -> dict:
    times: dict[str, list] = {name: [] for name in built}
    for name in rotating(list(built), rounds):
        if not cuda:
            times[name].append(timed("cpu", built[name].step))
            continue
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        built[name].step()
        end.record()
        times[name].append((start, end))
    if cuda:
        torch.cuda.synchronize()
        times = {n: [s.elapsed_time(e) / 1e3 for s, e in pairs] for n, pairs in times.items()}
    return {name: statistics.median(values) for name, values in times.items()}


def figures(name: str, sizes: Sizes, device: torch.device, until: float, clock: Clock) -> dict:
    params = parameters_with_gradients(SHAPE_SETS[name](), device)
    numel = sum(p.numel() for p in params)
    built, records, left_out = {}, {}, []
    for label, factory in factories(sizes.runs("fused")).items():
        if label.endswith("(fused)") and clock.elapsed() >= until:
            left_out.append(label)
            continue
        try:
            optimizer = factory(params)
            first = timed(device.type, optimizer.step)  # a fused path compiles here
        except (RuntimeError, TypeError, ValueError) as error:
            records[label] = {"available": False, "why": str(error).splitlines()[0][:200]}
            continue
        for _ in range(WARMUP - 1):
            optimizer.step()
        built[label], recorder = optimizer, SyncRecorder()
        with recorder.watching(device):
            optimizer.step()
        state = [v for v in optimizer.state[params[0]].values() if torch.is_tensor(v) and v.dim()]
        syncs = len(recorder.syncs) if device.type == "cuda" else None
        records[label] = {"first_step_s": first, "words_per_parameter": 3 + 2 * len(state),
                          "syncs_per_step": syncs}  # fmt: skip
    found = medians(built, sizes.step_rounds, device.type == "cuda")
    for label, median in found.items():
        moved = records[label]["words_per_parameter"] * 4 * numel / median
        records[label].update(
            median_ms=1e3 * median, vs_torch_fused_adam=median / found[REFERENCE],
            bytes_per_s=moved, fraction_of_h200=moved / H200_BANDWIDTH,
        )  # fmt: skip
    targets = {label: {"ratio": r["vs_torch_fused_adam"], "met": r["vs_torch_fused_adam"] <= 1.15}
               for label, r in records.items() if label.endswith("(fused)") and "median_ms" in r
               and not label.startswith(("sgd", "adagrad", "rmsprop"))}  # fmt: skip
    result = {"parameters": numel, "tensors": len(params), "rounds": sizes.step_rounds,
              "fused_left_out": left_out, "implementations": records, "status": "measured",
              "targets_fused_le_1_15x_torch_fused_adam": targets}  # fmt: skip
    if not sizes.runs("fused"):
        result["why"] = "fused paths " + NOT_IN_TINY.format(step="fused")
    elif left_out:
        result["why"] = f"{len(left_out)} fused paths left out (out of time)"
    return result


def run(section: Section, sizes: Sizes, device: torch.device) -> None:
    clock, count = section.clock, len(sizes.shape_sets)
    start, window = clock.elapsed(), section.left()
    for index, name in enumerate(sizes.shape_sets):  # fused paths compile within their share
        until = start + window * (index + 1) / count - ROUNDS_RESERVE_S
        figure = lambda n=name, u=until: figures(n, sizes, device, u, clock)  # noqa: E731
        section.run(f"optimizer step on {name} parameters", figure, needs_s=3)
