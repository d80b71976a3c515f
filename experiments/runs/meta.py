"""``meta.json``: what a run ran on (git, packages, versions, hardware, Slurm ids, data)."""

from __future__ import annotations

import functools
import os
import platform
import re
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

from experiments.runs.store import read_json
from experiments.tasks.contract import Task

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SLURM_VARIABLES = (
    "SLURM_JOB_ID",
    "SLURM_ARRAY_JOB_ID",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_RESTART_COUNT",
)


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            result = subprocess.run(
                ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return result.stdout.strip() if result.returncode == 0 else None

    sha = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"sha": sha, "dirty": None if status is None else bool(status)}


@functools.lru_cache(maxsize=1)
def pip_freeze() -> tuple[str, ...]:
    """The installed distributions as ``name==version``, read from the names of the
    ``*.dist-info`` folders on ``sys.path`` (≈ 1 ms, where reading every distribution's metadata
    takes ≈ 0.4 s); names are normalized as PEP 503 does (``PyYAML`` → ``pyyaml``). Read once
    per process."""
    found = set()
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info") and "-" in name:
                project, _, version = name[: -len(".dist-info")].partition("-")
                found.add(f"{re.sub(r'[-_.]+', '-', project).lower()}=={version}")
    return tuple(sorted(found))


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def collect_meta(task: Task, device: torch.device, previous: Path) -> dict:
    """This launch's record; earlier launches of the same run (resumes) are kept in ``launches``."""
    launch = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "slurm": {key: os.environ[key] for key in SLURM_VARIABLES if key in os.environ},
        "argv": sys.argv,
    }
    earlier = (read_json(previous) or {}).get("launches", [])
    return {
        "git": git_state(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": {"type": device.type, "name": device_name(device)},
        "cpu_count": os.cpu_count(),
        "hostname": launch["hostname"],
        "slurm": launch["slurm"],
        "dataset_checksums": task.checksums,
        "pip_freeze": list(pip_freeze()),
        "launches": [*earlier, launch],
    }


def peak_memory_bytes(device: torch.device) -> int:
    """Peak GPU memory allocated by torch on CUDA; the process's peak resident size on CPU."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
