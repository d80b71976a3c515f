"""Run ``python -m experiments.train`` as a real subprocess in a scratch directory.

The engine's command-line contracts (docs/architecture.md: run directory files, run identity,
resume, lock, exit codes) are tested end to end: a real interpreter, real files, real signals. Each
workspace has its own current directory (which must stay empty: no stray ``outputs/``) and
``runs_dir``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO_ROOT / "configs"
TIMEOUT_S = 600

SHORT_RUN = (
    "task.epochs=2",
    "log_every=1",
    "eval_every=25",
    "checkpoint_every=15",
    "schedule=cosine",
    "device=cpu",
    "deterministic=true",
)
"""80 steps (40 per epoch): evaluations at 25, 50, 75 and 80, checkpoints every 15 steps and at
80, a cosine schedule so that ``train/lr`` depends on the step."""

LONG_RUN = (
    "task.epochs=8",
    "log_every=1",
    "eval_every=100",
    "checkpoint_every=40",
    "device=cpu",
    "deterministic=true",
)
"""320 steps: long enough for a test to signal or kill the process while it trains."""

SCIENCE_SUMMARY_KEYS = ("status", "final", "best", "steps", "epochs")
TEMPORARY_CHECKPOINT = ".checkpoint.pt.tmp"  # where an interrupted checkpoint write is left


def train_env(**extra: str) -> dict[str, str]:
    """The environment of a launched run: no inherited W&B, fault, Slurm or rank settings, and
    one intra-op thread (runs share two cores; OpenMP threads spinning across them crawl)."""
    prefixes = ("WANDB_", "OPTREPRO_", "SLURM_", "HYDRA_", "DATA_DIR", "RANK", "WORLD_SIZE")
    env = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    env["OMP_NUM_THREADS"] = "1"
    env.update(extra)
    return env


@dataclass(frozen=True)
class Finished:
    """A finished command; ``run_dir`` is the run directory when exactly one exists."""

    returncode: int
    stdout: str
    stderr: str
    run_dir: Path | None
    pid: int

    def describe(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


@dataclass
class Launched:
    """A running command. Its output goes to temporary files, not pipes, so a run that nobody
    reads while it trains (or that is stopped) never blocks on a full pipe."""

    process: subprocess.Popen
    workspace: Workspace
    stdout: IO[str] = field(repr=False)
    stderr: IO[str] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def finish(self, timeout: float = TIMEOUT_S) -> Finished:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        output = []
        for stream in (self.stdout, self.stderr):
            stream.seek(0)
            output.append(stream.read())
            stream.close()
        found = self.workspace.run_dirs()
        run_dir = found[0] if len(found) == 1 else None
        return Finished(self.process.returncode, output[0], output[1], run_dir, self.pid)


@dataclass(frozen=True)
class Workspace:
    """A current directory and a ``runs_dir`` for launching ``experiments.train``."""

    cwd: Path
    runs_dir: Path

    @classmethod
    def create(cls, root: Path) -> Workspace:
        (root / "cwd").mkdir(parents=True, exist_ok=True)
        return cls(cwd=root / "cwd", runs_dir=root / "runs")

    def command(self, overrides: Sequence[str]) -> list[str]:
        """Hydra's flags (``-m``) first, then ``runs_dir`` and the overrides."""
        flags = [item for item in overrides if item.startswith("-")]
        rest = [item for item in overrides if not item.startswith("-")]
        module = [sys.executable, "-m", "experiments.train"]
        return [*module, *flags, f"runs_dir={self.runs_dir}", *rest]

    def torchrun_command(self, overrides: Sequence[str], ranks: int = 2) -> list[str]:
        """The same run as ``ranks`` processes under ``torchrun --standalone``."""
        module = [*self.command(overrides)[1:]]  # -m experiments.train <flags> <overrides>
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        return [*launcher, "--nproc_per_node", str(ranks), *module]

    def start(
        self, overrides: Sequence[str], env: dict[str, str] | None = None, ranks: int = 1
    ) -> Launched:
        """One process, or ``ranks`` > 1 processes started by torchrun."""
        stdout, stderr = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
        command = self.command(overrides) if ranks == 1 else self.torchrun_command(overrides, ranks)
        process = subprocess.Popen(
            command,
            cwd=self.cwd,
            env=env if env is not None else train_env(),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            text=True,
        )
        return Launched(process, self, stdout, stderr)

    def run(self, overrides: Sequence[str], env: dict[str, str] | None = None) -> Finished:
        return self.start(overrides, env).finish()

    def torchrun(
        self, overrides: Sequence[str], env: dict[str, str] | None = None, ranks: int = 2
    ) -> Finished:
        """The run on ``ranks`` data-parallel processes (gloo on CPU) through torchrun."""
        return self.start(overrides, env, ranks=ranks).finish()

    def run_dirs(self) -> list[Path]:
        """Every run directory under ``runs_dir`` (those holding a ``config.yaml``)."""
        if not self.runs_dir.is_dir():
            return []
        return sorted(path.parent for path in self.runs_dir.rglob("config.yaml"))


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def read_summary(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "summary.json").read_text())


def science(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events without ``time`` (wall-clock, the only field allowed to differ on resume)."""
    return [{key: value for key, value in event.items() if key != "time"} for event in events]


def summary_science(summary: dict[str, Any]) -> dict[str, Any]:
    return {key: summary.get(key) for key in SCIENCE_SUMMARY_KEYS}


def assert_same_run(run_dir: Path, reference: Path) -> None:
    """A resumed run equals an uninterrupted one: every event and summary metric, with ``time``
    cumulative across the launches."""
    events = read_metrics(run_dir)
    assert science(events) == science(read_metrics(reference))
    assert summary_science(read_summary(run_dir)) == summary_science(read_summary(reference))
    times = [event["time"] for event in events]
    assert times == sorted(times), "time is cumulative across resumes"
    assert not (run_dir / TEMPORARY_CHECKPOINT).exists()


def assert_trains_like(
    run_dir: Path,
    reference: Path,
    *,
    rel: float = 1e-5,
    abs: float = 1e-6,  # noqa: A002 (pytest.approx's name)
    same_epochs: bool = False,
) -> dict[str, Any]:
    """A run on several ranks trains like the one-process ``reference``: the same steps (and
    epochs, with ``same_epochs``), every logged metric and every final parameter equal within
    ``rel``/``abs`` (all-reduced sums differ from one process's in the last bits). Returns the
    run's checkpoint for further checks."""
    import pytest
    import torch

    got, expected = science(read_metrics(run_dir)), science(read_metrics(reference))
    assert [event["step"] for event in got] == [event["step"] for event in expected]
    if same_epochs:
        assert [event["epoch"] for event in got] == [event["epoch"] for event in expected]
    for event, wanted in zip(got, expected, strict=True):
        assert event.keys() == wanted.keys()
        for key in event.keys() - {"step", "epoch"}:
            assert event[key] == pytest.approx(wanted[key], rel=rel, abs=abs), key
    ours = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    theirs = torch.load(reference / "checkpoint.pt", weights_only=True)
    for name, tensor in ours["model"].items():
        torch.testing.assert_close(tensor, theirs["model"][name], rtol=rel, atol=abs)
    return ours


def count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def wait_until(
    condition: Callable[[], bool], launched: Launched, what: str, timeout: float = 300
) -> None:
    """Poll ``condition`` every few milliseconds while the command runs."""
    deadline = time.monotonic() + timeout
    while not condition():
        if launched.process.poll() is not None:
            finished = launched.finish()
            raise AssertionError(f"the run ended before {what}: {finished.describe()}")
        if time.monotonic() > deadline:
            launched.process.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


def metrics_path_in(runs_dir: Path) -> Path | None:
    found = list(runs_dir.rglob("metrics.jsonl")) if runs_dir.is_dir() else []
    return found[0] if found else None


def wait_for_metrics(launched: Launched, lines: int) -> Path:
    """Wait until the run's ``metrics.jsonl`` holds at least ``lines`` lines; returns its path."""
    runs_dir = launched.workspace.runs_dir

    def enough() -> bool:
        path = metrics_path_in(runs_dir)
        return path is not None and count_lines(path) >= lines

    wait_until(enough, launched, f"metrics.jsonl had {lines} lines")
    path = metrics_path_in(runs_dir)
    assert path is not None
    return path


def run_concurrently(
    jobs: Mapping[str, Callable[[], T]],
    workers: int = 2,
    in_this_thread: Mapping[str, Callable[[], T]] | None = None,
) -> dict[str, Future]:
    """Run independent launches side by side (each test then reads its own ``result()``, which
    re-raises that job's failure); returns when all are done. Two at a time: the CI has 2 cores.
    ``in_this_thread``: jobs run here (in-process runs, which install signal handlers, must run
    in the main thread) while the pool's ``workers`` wait on their launches."""
    futures: dict[str, Future] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        for name, job in (in_this_thread or {}).items():
            here: Future = Future()
            try:
                here.set_result(job())
            except Exception as error:  # re-raised by the test that reads it
                here.set_exception(error)
            futures[name] = here
    return futures
