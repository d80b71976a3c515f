"""The GPU check's files: one JSON per section, rewritten after every item so a run cut off by
its time limit still returns what finished.

An item is one check or one figure: ``name``, ``status`` (``pass``, ``fail``, ``measured``,
``skipped``, ``blocked`` or ``error``), ``why`` (the reason for every status but pass and
measured, e.g. "needs CUDA" or "out of time"), ``wall_s`` and ``details``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from experiments.bench.gpu_check.plan import Clock, Sizes

STATUSES = ("pass", "fail", "measured", "skipped", "blocked", "error")


class Outcome(Exception):
    """Raised by an item to end with a status other than its return's (skipped, blocked, …)."""

    def __init__(self, status: str, why: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(why)
        self.status, self.why, self.details = status, why, details or {}


def failed(details: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """``details`` as a failure naming ``problems``, or unchanged (a pass) when there are none."""
    return {**details, "status": "fail", "why": "; ".join(problems)} if problems else details


def machine(cuda: bool) -> dict[str, Any]:
    """Python, torch, CUDA, cuDNN and Triton versions, the device's name and the host's CPUs."""
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    found: dict[str, Any] = {
        "python": platform.python_version(), "torch": torch.__version__,
        "cuda": torch.version.cuda, "cudnn": cudnn, "cpu_count": os.cpu_count(),
        "platform": platform.platform(), "triton": None,
    }  # fmt: skip
    try:
        import triton

        found["triton"] = triton.__version__
    except ImportError:
        pass
    if not cuda:
        return {**found, "device": f"cpu ({platform.processor() or platform.machine()})"}
    properties = torch.cuda.get_device_properties(0)
    return {**found, "device": torch.cuda.get_device_name(0),
            "capability": f"{properties.major}.{properties.minor}",
            "multiprocessors": properties.multi_processor_count,
            "memory_bytes": properties.total_memory}  # fmt: skip


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Written in place, no temporary file beside it: on the GPU machine the folder is the one
    whose files come back (at most 8), and a section file is a few kilobytes written at once."""
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")


def kept_items(record: dict[str, Any] | None, mode: str) -> dict[str, dict[str, dict]]:
    """{section: {item name: item}} of an earlier record's finished items (same mode only): not
    those that broke or that the time ran out before or during."""
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
    """One section's items, written to ``<out>/<index>-<name>.json`` after each item. Items of
    ``kept`` (an earlier attempt's finished ones, ``--complete``) are copied, not run again."""

    def __init__(
        self, out: Path, index: int, name: str, sizes: Sizes, clock: Clock,
        kept: dict[str, dict] | None = None,
    ) -> None:  # fmt: skip
        self.path = out / f"{index}-{name.replace('_', '-')}.json"
        self.name, self.sizes, self.clock, self.kept = name, sizes, clock, kept or {}
        self.items: list[dict[str, Any]] = []
        self.started, self.complete = clock.elapsed(), False
        self.write()

    def left(self) -> float:
        """Seconds of the section's share left."""
        return self.clock.left(self.name)

    def payload(self) -> dict[str, Any]:
        return {"section": self.name, "mode": self.sizes.mode, "complete": self.complete,
                "started_s": round(self.started, 2),
                "deadline_s": round(self.clock.deadline(self.name), 2),
                "wall_s": round(self.clock.elapsed() - self.started, 2),
                "items": self.items}  # fmt: skip

    def write(self) -> None:
        write_json(self.path, self.payload())

    def add(self, name: str, status: str, why: str | None, wall_s: float, details: dict) -> None:
        assert status in STATUSES, status
        item = {"name": name, "status": status, "why": why, "wall_s": round(wall_s, 3)}
        self.items.append({**item, "details": details})
        print(f"  [{status:8}] {name} ({wall_s:.1f} s){': ' + why if why else ''}", flush=True)
        self.write()

    def run(
        self, name: str, item: Callable[[], dict[str, Any]], *, needs_s: float | None = None
    ) -> dict[str, Any] | None:
        """Run one item unless fewer than ``needs_s`` seconds of the section's share are left
        (``None``: it always runs, e.g. a summary of the items before it).

        The item returns its details (status ``pass``, or the ``status`` key it sets), or
        raises ``Outcome``; any other exception is recorded as ``error`` with its traceback's
        last lines, and the section goes on. Returns the details, None when it did not finish.
        """
        if name in self.kept:
            earlier = self.kept[name]
            self.items.append(earlier)
            print(f"  [{earlier['status']:8}] {name} (kept from the earlier run)", flush=True)
            self.write()
            return dict(earlier["details"]) or None
        left = self.left()
        if needs_s is not None and left < needs_s:
            why = f"out of time ({left:.0f} s of the section's share left, "
            why += f"it needs ≈ {needs_s:.0f} s)"
            self.add(name, "skipped", why, 0.0, {})
            return None
        started = time.monotonic()
        try:
            details = item()
        except Outcome as outcome:
            self.add(name, outcome.status, outcome.why, time.monotonic() - started, outcome.details)
            return None
        except Exception as error:  # noqa: BLE001 - recorded, the check goes on
            lines = traceback.format_exc().strip().splitlines()[-6:]
            why = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            self.add(name, "error", why, time.monotonic() - started, {"traceback": lines})
            return None
        status, why = details.pop("status", "pass"), details.pop("why", None)
        self.add(name, status, why, time.monotonic() - started, details)
        return details

    def finish(self) -> dict[str, Any]:
        self.complete = True
        self.write()
        return self.payload()


def command_line() -> str:
    return " ".join(["python", "-m", "scripts.gpu_check", *sys.argv[1:]])
