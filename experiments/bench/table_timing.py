"""The table command at scale: synthetic run directories, and the timing of
``python -m scripts.make_tables`` over them (``python -m scripts.bench_tables`` says how).

The runs cover every reference entry's grid (lr grid × warmup lengths × seeds, with diverged,
failed and unfinished runs mixed in) plus user groups that only ``groups.md`` shows; each has a
``summary.json``, a ``meta.json`` of realistic size and a ``config.yaml``, and no
``metrics.jsonl`` (learning curves are excluded).
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

from experiments.report.reference import load_references

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RECORD = PROJECT_ROOT / "results" / "bench" / "tables-cpu.json"
GRIDS = {
    "optimizer.lr": ["0.1", "0.03", "0.01", "0.003"],
    "schedule.warmup.steps": ["100", "200", "500", "1000"],
}
FILLER_OPTIMIZERS = ["sgd", "adam", "adamw", "radam", "adabound", "amsbound", "adagrad", "rmsprop"]
FILLER_LRS = ["0.3", "0.1", "0.03", "0.01", "0.003", "0.001", "0.0003", "0.0001"]
FILLER_DECAYS = ["0.0", "0.0001", "0.0005"]
PIP_FREEZE = [f"package-{i:03d}=={i % 7}.{i % 13}.{i % 5}" for i in range(160)]


def _settings() -> Iterator[tuple[str, str, str, dict[str, str]]]:
    """(sweep, task, optimizer, overrides) of every candidate setting of the reference entries
    (in the entry's own sweep), then user settings without end."""
    seen = set()
    for reference in load_references().values():
        for entry in reference.entries:
            sweep = entry.sweep_names[0] if entry.sweep_names else "bench"
            grids = [[(key, value) for value in GRIDS.get(key, ["1"])] for key in entry.select_over]
            for choice in itertools.product(*grids):
                overrides = dict(sorted({**entry.overrides, **dict(choice)}.items()))
                key = (sweep, entry.task, entry.optimizer, tuple(overrides.items()))
                if key not in seen:
                    seen.add(key)
                    yield sweep, entry.task, entry.optimizer, overrides
    for task in itertools.count():
        for optimizer, lr, decay in itertools.product(FILLER_OPTIMIZERS, FILLER_LRS, FILLER_DECAYS):
            overrides = {"optimizer.lr": lr, "optimizer.weight_decay": decay}
            yield "bench", f"user_task_{task}", optimizer, overrides


def _summary(sweep: str, task: str, optimizer: str, overrides: dict, seed: int, index: int) -> dict:
    status = ["diverged", "failed", "running"][index % 3] if index % 25 == 0 else "finished"
    accuracy = 60 + zlib.crc32(f"{task}{optimizer}{overrides}".encode()) % 3000 / 100 + seed / 10
    metrics = {
        "test/acc": accuracy,
        "test/loss": 100 / accuracy,
        "val/acc": accuracy - 1.0,
        "val/loss": 100 / accuracy + 0.05,
    }
    finished = status == "finished"
    where = f"{sweep.replace('/', '_')}/{task}/{optimizer}"
    name = f"{where}/{','.join(f'{k}={v}' for k, v in overrides.items())}"
    return {
        "status": status,
        "task": task,
        "optimizer": optimizer,
        "seed": seed,
        "sweep": sweep,
        "overrides": overrides,
        "name": f"{name}/seed={seed}",
        "headline": {"metric": "test/acc", "mode": "max"},
        "final": metrics if finished else {},
        "best": {k: {"value": v + 0.3, "step": 6400, "epoch": 16.0} for k, v in metrics.items()}
        if finished
        else {},
        "steps": 6400,
        "epochs": 16.0,
        "time_total": 1800.0 + seed,
        "time_optimizer": 90.0,
        "peak_memory_bytes": 2_000_000_000,
        **({"diverged_at": 1234} if status == "diverged" else {}),
    }


def write_runs(root: Path, count: int, seeds: int = 5) -> None:
    """``count`` run directories under ``root``, ``seeds`` seeds per setting."""
    meta = {
        "device": {"type": "cuda", "name": "NVIDIA H100"},
        "git": {"sha": "0" * 40},
        "pip_freeze": PIP_FREEZE,
        "python": "3.11.7",
        "torch": "2.13.0",
    }
    meta_text = json.dumps(meta, indent=2, sort_keys=True)
    settings = _settings()
    written = 0
    while written < count:
        sweep, task, optimizer, overrides = next(settings)
        component = ",".join(f"{k}={v}" for k, v in overrides.items()).replace("/", "_")
        for seed in range(1, seeds + 1):
            if written == count:
                break
            parts = (sweep.replace("/", "_"), task, optimizer, component or "default")
            run_dir = root.joinpath(*parts, f"seed={seed}")
            run_dir.mkdir(parents=True)
            summary = _summary(sweep, task, optimizer, overrides, seed, written)
            (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
            (run_dir / "meta.json").write_text(meta_text)
            (run_dir / "config.yaml").write_text(f"seed: {seed}\ntask:\n  name: {task}\n")
            written += 1


def _machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_1min": os.getloadavg()[0],
    }


TIMED_COMMAND = ["python", "-m", "scripts.make_tables", "--runs", "<tmp>/runs", "--out",
                 "<tmp>/tables", "--no-figures"]  # fmt: skip
"""The timed command as the record shows it (``<tmp>``: the temporary folder)."""


def _pinned_command(scratch: Path) -> tuple[list[str], list[int]]:
    """The table command over ``scratch``'s runs, pinned to 2 cores where the machine has more,
    and the cores it is pinned to (none: not pinned)."""
    arguments = [part.replace("<tmp>", str(scratch)) for part in TIMED_COMMAND[1:]]
    command = [sys.executable, *arguments]
    cores = sorted(os.sched_getaffinity(0))[:2] if hasattr(os, "sched_getaffinity") else []
    if shutil.which("taskset") and cores and len(os.sched_getaffinity(0)) > 2:
        command = ["taskset", "-c", ",".join(map(str, cores)), *command]
    return command, cores


def time_tables(runs: int, repeat: int, record_path: Path = RECORD) -> int:
    """Write ``runs`` synthetic runs into a temporary folder, time the table command over them
    ``repeat`` times, print the times and write the record to ``record_path``; 0, or 1 when the
    command failed."""
    scratch = Path(tempfile.mkdtemp(prefix="bench_tables_"))
    try:
        started = time.perf_counter()
        write_runs(scratch / "runs", runs)
        print(f"wrote {runs} runs in {time.perf_counter() - started:.1f} s")
        command, cores = _pinned_command(scratch)
        seconds = []
        for _ in range(repeat):
            started = time.perf_counter()
            result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True)
            seconds.append(time.perf_counter() - started)
            if result.returncode != 0:
                print(result.stdout + result.stderr, file=sys.stderr)
                return 1
        print(result.stdout.strip())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    median = statistics.median(seconds)
    record = {
        "benchmark": "make_tables over synthetic run directories (learning curves excluded)",
        "command": f"python -m scripts.bench_tables --runs {runs} --repeat {repeat}",
        "timed_command": " ".join(TIMED_COMMAND),
        "runs": runs,
        "seconds": seconds,
        "median_seconds": median,
        "target_seconds": 10.0,
        "cores_used": len(cores) or os.cpu_count(),
        "page_cache": "warm",
        "machine": _machine(),
        "date": time.strftime("%Y-%m-%d"),
    }
    record_path.parent.mkdir(parents=True, exist_ok=True)
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    print(
        f"make_tables on {runs} runs: median {median:.2f} s "
        f"({', '.join(f'{s:.2f}' for s in seconds)}; target ≤ 10 s) -> {record_path}"
    )
    return 0
