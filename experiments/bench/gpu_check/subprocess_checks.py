"""Checks in subprocesses: the CUDA optimizer tests (pytest) and DDP (docs/gpu_check.md)."""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

import torch

from experiments.bench.gpu_check.record import Outcome, failed

PROJECT = Path(__file__).resolve().parents[3]
CUDA_TESTS = ("tests/optimizers/test_paths.py", "tests/optimizers/test_api.py")
DDP_RUN = ("task=digits", "task.epochs=2", "log_every=5", "checkpoint_every=1000",
           "deterministic=true", "launcher=inline")  # fmt: skip
DDP_TOLERANCE = 1e-4


def run_pytest(selection: str, timeout_s: float, files: tuple[str, ...] = CUDA_TESTS) -> dict:
    """``pytest -k selection`` without third-party plugins; outcomes from its JUnit report."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.xml"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", selection,
                   f"--junitxml={report}", *files]  # fmt: skip
        env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True,
                              timeout=timeout_s)  # fmt: skip
        outcomes, skipped, failed = Counter(), Counter(), []
        for case in ElementTree.parse(report).getroot().iter("testcase"):
            child = next((c for c in case if c.tag in ("skipped", "failure", "error")), None)
            kind, message = ("passed", "") if child is None else (child.tag, child.get("message"))
            outcomes[kind] += 1
            if kind == "skipped":
                skipped[(message or "").strip()] += 1
            elif kind != "passed":
                name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
                failed.append(f"{name}: {(message or '').splitlines()[:1]}")
    details = {"command": " ".join(["pytest", "-k", selection, *files]),
               "exit_code": done.returncode, "passed": outcomes["passed"],
               "failed": outcomes["failure"] + outcomes["error"], "skipped": outcomes["skipped"],
               "skip_reasons": dict(skipped), "failures": failed[:20]}  # fmt: skip
    if failed:
        return {**details, "status": "fail", "why": f"{len(failed)} failed: {failed[0]}"}
    if not details["passed"]:
        reasons = "; ".join(sorted(skipped)) or "nothing collected"
        return {**details, "status": "skipped", "why": f"every selected test skipped: {reasons}"}
    if skipped:
        details["why"] = "skipped: " + "; ".join(f"{n} × {r}" for r, n in skipped.items())
    return details


def _train(runs_dir: Path, device: str, ranks: int, backend: str, timeout_s: float) -> list[dict]:
    """Logged events of one process, 2 NCCL ranks (torchrun) or 2 gloo ranks on LOCAL_RANK=0."""
    train = ["-m", "experiments.train", f"runs_dir={runs_dir}", f"device={device}", *DDP_RUN]
    prefixes = ("WANDB_", "OPTREPRO_", "SLURM_", "HYDRA_", "RANK", "WORLD_SIZE", "LOCAL_RANK")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    environment = lambda **extra: {**env, "OMP_NUM_THREADS": "1", **extra}  # noqa: E731
    commands, envs = [[sys.executable, *train]], [environment()]
    if ranks > 1 and backend == "nccl":
        torchrun = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(ranks)]
        commands = [[sys.executable, *torchrun, *train]]
    elif ranks > 1:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = str(probe.getsockname()[1])
        envs = [environment(RANK=str(rank), WORLD_SIZE=str(ranks), LOCAL_RANK="0",
                             MASTER_ADDR="127.0.0.1", MASTER_PORT=port, OPTREPRO_BACKEND=backend)
                for rank in range(ranks)]  # fmt: skip
        commands = commands * ranks
    pipe = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    pairs = zip(commands, envs, strict=True)
    processes = [subprocess.Popen(c, cwd=PROJECT, env=e, **pipe) for c, e in pairs]
    try:
        outputs = [process.communicate(timeout=timeout_s)[0] for process in processes]
    finally:
        for process in processes:
            process.kill()
    if any(codes := [process.returncode for process in processes]):
        tail = "".join(outputs).strip().splitlines()[-8:]
        raise Outcome("fail", f"{len(processes)} process(es) exited {codes}", {"output_tail": tail})
    (summary,) = runs_dir.rglob("summary.json")
    if json.loads(summary.read_text())["world_size"] != ranks:
        raise Outcome("fail", f"the run's world size is not {ranks}")
    lines = (summary.parent / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "time"} for line in lines]


def two_ranks_like_one(device: torch.device, backend: str, timeout_s: float) -> dict:
    if backend == "nccl" and (device.type != "cuda" or torch.cuda.device_count() < 2):
        found = torch.cuda.device_count() if device.type == "cuda" else 0
        why = "NCCL needs two GPUs (it refuses two ranks on one: 'Duplicate GPU detected')"
        raise Outcome("blocked", f"{why}; {found} here")
    if importlib.util.find_spec("sklearn") is None:
        raise Outcome("skipped", "digits reads scikit-learn's bundled CSV: not installed here")
    with tempfile.TemporaryDirectory() as scratch:
        one = _train(Path(scratch) / "one", device.type, 1, backend, timeout_s / 2)
        two = _train(Path(scratch) / "two", device.type, 2, backend, timeout_s / 2)
    if [e["step"] for e in one] != [e["step"] for e in two]:
        raise Outcome("fail", "different log points")
    worst = max((abs(b[key] - value) / max(abs(value), 1e-12)
                 for a, b in zip(one, two, strict=True) for key, value in a.items()
                 if isinstance(value, float) and key != "epoch"), default=0.0)  # fmt: skip
    details = {"device": str(device), "backend": backend, "events": len(one),
               "worst_rel_difference": worst, "tolerance": DDP_TOLERANCE}  # fmt: skip
    return failed(details, [worst > DDP_TOLERANCE and f"differs by {worst:.2e}"])
