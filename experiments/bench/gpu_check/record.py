"""The section files (rewritten after every item), the machine and the Markdown summary."""

import importlib
import importlib.util
import json
import os
import platform
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from experiments.bench.gpu_check.plan import NOT_IN_TINY, Clock, Sizes


class Outcome(Exception):
    """Raised by an item to end with a status other than its return's (skipped, blocked, …)."""

    def __init__(self, status: str, why: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(why)
        self.status, self.why, self.details = status, why, details or {}


def failed(details: dict[str, Any], problems: list[str | bool]) -> dict[str, Any]:
    problems = [problem for problem in problems if problem]
    return {**details, "status": "fail", "why": "; ".join(problems)} if problems else details


def optional(sizes: Sizes, step: str, check: Callable[[], dict], note: str = "") -> dict:
    if not sizes.runs(step):
        raise Outcome("skipped", NOT_IN_TINY.format(step=step) + note)
    return check()


def machine(cuda: bool) -> dict[str, Any]:
    triton = importlib.util.find_spec("triton") and importlib.import_module("triton").__version__
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    found = {"python": platform.python_version(), "torch": torch.__version__,
             "cuda": torch.version.cuda, "cudnn": cudnn, "cpu_count": os.cpu_count(),
             "platform": platform.platform(), "triton": triton or None}  # fmt: skip
    if not cuda:
        return {**found, "device": f"cpu ({platform.processor() or platform.machine()})"}
    p = torch.cuda.get_device_properties(0)
    return {**found, "device": torch.cuda.get_device_name(0), "capability": f"{p.major}.{p.minor}",
            "multiprocessors": p.multi_processor_count, "memory_bytes": p.total_memory}  # fmt: skip


def write_json(path: Path, payload: dict[str, Any]) -> None:
    # In place, no temporary file beside it: the GPU machine returns at most 8 files.
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")


def kept_items(record: dict[str, Any] | None, mode: str) -> dict[str, dict[str, dict]]:
    """{section: {item name: item}} of an earlier record's finished items (same mode only)."""
    if not record or record.get("mode") != mode:
        return {}
    earlier = record["command"]
    return {
        name: {item["name"]: {**item, "from_earlier_run": item.get("from_earlier_run", earlier)}
               for item in section.get("items", [])
               if item["status"] != "error" and "out of time" not in (item.get("why") or "")}
        for name, section in record["sections"].items() if name != "defaults"
    }  # fmt: skip


class Section:
    def __init__(self, out: Path, index: int, name: str, sizes: Sizes, clock: Clock,
                 kept: dict[str, dict] | None = None) -> None:  # fmt: skip
        self.path = out / f"{index}-{name.replace('_', '-')}.json"
        self.name, self.sizes, self.clock, self.kept = name, sizes, clock, kept or {}
        self.items: list[dict[str, Any]] = []
        self.started, self.complete = clock.elapsed(), False
        self.write()

    def left(self) -> float:
        return self.clock.left(self.name)

    def payload(self) -> dict[str, Any]:
        return {"section": self.name, "mode": self.sizes.mode, "complete": self.complete,
                "started_s": round(self.started, 2),
                "deadline_s": round(self.clock.deadline(self.name), 2),
                "wall_s": round(self.clock.elapsed() - self.started, 2),
                "items": self.items}  # fmt: skip

    def write(self) -> None:
        write_json(self.path, self.payload())

    def add(self, name: str, status: str, why: str | None, wall_s: float, details: dict,
            **extra: Any) -> None:  # fmt: skip
        item = {"name": name, "status": status, "why": why, "wall_s": round(wall_s, 3)}
        self.items.append({**item, "details": details, **extra})
        print(f"  [{status:8}] {name} ({wall_s:.1f} s){': ' + why if why else ''}", flush=True)
        self.write()

    def run(self, name: str, item: Callable[[], dict], *, needs_s: float | None = None):
        """The item's details unless under ``needs_s`` s are left; None if it did not finish."""
        if name in self.kept:
            self.add(**{"wall_s": 0.0, **self.kept[name]})
            return dict(self.kept[name]["details"]) or None
        if needs_s is not None and self.left() < needs_s:
            why = f"out of time ({self.left():.0f} s of the share left, needs ≈ {needs_s:.0f} s)"
            self.add(name, "skipped", why, 0.0, {})
            return None
        started, result = time.monotonic(), None
        try:
            result = details = item()
            status, why = details.pop("status", "pass"), details.pop("why", None)
        except Outcome as outcome:
            status, why, details = outcome.status, outcome.why, outcome.details
        except Exception as error:  # noqa: BLE001 - recorded, the check goes on
            status, why = "error", f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}"
            details = {"traceback": traceback.format_exc().strip().splitlines()[-6:]}
        self.add(name, status, why, time.monotonic() - started, details)
        return result

    def finish(self) -> dict[str, Any]:
        self.complete = True
        self.write()
        return self.payload()


def _scalars(values: dict[str, Any]) -> str:
    shown = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
             for k, v in values.items() if isinstance(v, int | float | str | bool)]  # fmt: skip
    return ", ".join(shown)


def markdown(record: dict[str, Any]) -> str:
    m = record["machine"]
    lines = [f"# GPU check, {record['date']} ({record['mode']})", "",
             f"- command: `{record['command']}`",
             f"- device: {m['device']}; torch {m['torch']}, CUDA {m['cuda']}, cuDNN {m['cudnn']}, "
             f"Triton {m['triton']}, Python {m['python']}",
             f"- wall time: {record['wall_s']:.0f} s of a {record['budget_s']:.0f} s budget",
    ]  # fmt: skip
    if record.get("earlier_runs"):
        lines.append(f"- completes the record of: `{'`, `'.join(record['earlier_runs'])}`")
    if record["mode"] != "cuda":
        lines.append("- **no CUDA here: tiny sizes on the CPU; the figures are no GPU figures**")
    for name, section in record["sections"].items():
        lines += ["", f"## {name}" + ("" if section.get("complete") else " (cut off)"), ""]
        for item in section.get("items", []):
            why = f" — {item['why']}" if item.get("why") else ""
            figures = ": " + _scalars(item["details"]) if _scalars(item["details"]) else ""
            lines.append(f"- **{item['status']}** {item['name']}{why}{figures}")
            for key, value in item["details"].items():
                if isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()):
                    lines += [f"  - {key} {sub}: {_scalars(v)}" for sub, v in value.items()]
    return "\n".join(lines) + "\n"
