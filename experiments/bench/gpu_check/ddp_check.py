"""Two DDP ranks on the GPU against one process (issue 15, point 4).

``python -m experiments.train task=digits device=cuda`` once as one process and once as two ranks.
On one GPU the two ranks share it and reduce through gloo (``OPTREPRO_BACKEND=gloo``: gloo takes
CUDA tensors, and every collective of the loop reduces tensors on the run's device). They are
started by hand with the variables ``torch.distributed.run`` would set, except ``LOCAL_RANK=0``
for both: the entry point places rank ``LOCAL_RANK`` on ``cuda:LOCAL_RANK``, which does not
exist for rank 1 on a one-GPU machine. With two GPUs the NCCL run goes through
``torch.distributed.run``. ``task.batch_size`` is the global batch, so both must log the same
losses and metrics; CUDA kernels reduce in their own order, so the comparison allows 1e-4
relative where the CPU tests (``tests/experiments/test_distributed.py``) demand 1e-5. ``digits``
has no BatchNorm (whose statistics stay per rank) and reads scikit-learn's bundled CSV, so it
needs scikit-learn installed. NCCL refuses two ranks on one GPU ("Duplicate GPU detected"): its
run needs two GPUs and is reported blocked on one.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from experiments.bench.gpu_check.record import Outcome

PROJECT = Path(__file__).resolve().parents[3]
RUN = (
    "task=digits",
    "task.epochs=2",
    "log_every=5",
    "checkpoint_every=1000",
    "deterministic=true",
    "launcher=inline",
)
TOLERANCE = 1e-4


def _environment(**extra: str) -> dict[str, str]:
    prefixes = ("WANDB_", "OPTREPRO_", "SLURM_", "HYDRA_", "RANK", "WORLD_SIZE", "LOCAL_RANK")
    env = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    return {**env, "OMP_NUM_THREADS": "1", **extra}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _train(runs_dir: Path, device: str, ranks: int, backend: str, timeout_s: float) -> Path:
    """One run: one process, two ranks through torchrun (NCCL, one GPU each), or two ranks
    started by hand that both take GPU 0 (gloo; see ``two_ranks_like_one``)."""
    command = [
        sys.executable,
        "-m",
        "experiments.train",
        f"runs_dir={runs_dir}",
        f"device={device}",
        *RUN,
    ]
    if ranks == 1:
        environments = [_environment()]
    elif backend == "nccl":
        command[1:3] = [
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            str(ranks),
            "-m",
            "experiments.train",
        ]
        environments = [_environment()]
    else:
        port = str(_free_port())
        environments = [
            _environment(
                RANK=str(rank),
                WORLD_SIZE=str(ranks),
                LOCAL_RANK="0",
                MASTER_ADDR="127.0.0.1",
                MASTER_PORT=port,
                OPTREPRO_BACKEND=backend,
            )
            for rank in range(ranks)
        ]
    processes = [
        subprocess.Popen(
            command,
            cwd=PROJECT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for env in environments
    ]
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=timeout_s)[0])
    except subprocess.TimeoutExpired:
        for process in processes:
            process.kill()
        raise Outcome("error", f"{ranks} rank(s) ran past {timeout_s:.0f} s") from None
    codes = [process.returncode for process in processes]
    if any(codes):
        tail = "".join(outputs).strip().splitlines()[-8:]
        raise Outcome("fail", f"{ranks} rank(s) exited {codes}", {"output_tail": tail})
    (summary,) = runs_dir.rglob("summary.json")
    return summary.parent


def _events(run_dir: Path) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "time"} for line in lines]


def two_ranks_like_one(device: torch.device, backend: str, timeout_s: float) -> dict:
    """One process against two ranks reducing through ``backend`` (see the module docstring)."""
    if backend == "nccl" and (device.type != "cuda" or torch.cuda.device_count() < 2):
        found = torch.cuda.device_count() if device.type == "cuda" else 0
        raise Outcome(
            "blocked",
            "NCCL needs two GPUs (it refuses two ranks on one: 'Duplicate "
            f"GPU detected'); {found} here",
        )
    if importlib.util.find_spec("sklearn") is None:
        raise Outcome("skipped", "digits reads scikit-learn's bundled CSV: not installed here")
    with tempfile.TemporaryDirectory() as scratch:
        single = _train(Path(scratch) / "one", device.type, 1, backend, timeout_s / 2)
        double = _train(Path(scratch) / "two", device.type, 2, backend, timeout_s / 2)
        one, two = _events(single), _events(double)
        world = json.loads((double / "summary.json").read_text())["world_size"]
    if [e["step"] for e in one] != [e["step"] for e in two] or world != 2:
        raise Outcome("fail", f"different log points (world size {world})")
    worst = 0.0
    for a, b in zip(one, two, strict=True):
        for key, value in a.items():
            if isinstance(value, float) and key != "epoch":
                worst = max(worst, abs(b[key] - value) / max(abs(value), 1e-12))
    details = {
        "device": str(device),
        "backend": backend,
        "events": len(one),
        "worst_rel_difference": worst,
        "tolerance": TOLERANCE,
    }
    if worst > TOLERANCE:
        return {**details, "status": "fail", "why": f"differs by {worst:.2e}"}
    return details
