"""Fault injection on real runs: random kills and random signals, then the same command again.

``python -m scripts.fault_check [--kills 20] [--signals 20] [--budget-s 900] [--workers 2]``

Each trial launches a ``digits`` run (160 steps, a checkpoint every 15, an evaluation every 25, a
cosine schedule, so every logged number depends on where training is) and disturbs it:

- a **kill** trial sends SIGKILL at a random moment (from start-up to the last steps); with
  probability 1/3 it kills the relaunch too (a double fault);
- a **signal** trial sends SIGINT or SIGTERM at a random moment, start-up included.

Then it relaunches the same command until the run is finished, and compares ``metrics.jsonl``
(every event, ``time`` excepted) and the science of ``summary.json`` with one uninterrupted run.
It prints a line per trial and ``n identical / n total`` per kind; exit 0 only when every trial
gave the uninterrupted run's record. New trials stop starting after ``--budget-s`` seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUN = (
    "task.epochs=4", "log_every=1", "eval_every=25", "checkpoint_every=15", "schedule=cosine",
    "device=cpu", "deterministic=true",
)  # fmt: skip
SCIENCE = ("status", "final", "best", "at_best", "steps", "epochs")
STEPS = 160


@dataclass
class Trial:
    kind: str
    number: int
    detail: str
    identical: bool
    launches: int


def launch(runs_dir: Path, cwd: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "OPTREPRO_"))}
    env["OMP_NUM_THREADS"] = "1"
    command = [sys.executable, "-m", "experiments.train", f"runs_dir={runs_dir}", *RUN]
    return subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def run_dir_of(runs_dir: Path) -> Path | None:
    found = list(runs_dir.rglob("config.yaml")) if runs_dir.exists() else []
    return found[0].parent if found else None


def record(run_dir: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    events = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    summary = json.loads((run_dir / "summary.json").read_text())
    science = [{k: v for k, v in event.items() if k != "time"} for event in events]
    return science, {key: summary.get(key) for key in SCIENCE}


def disturb(process: subprocess.Popen, runs_dir: Path, signum: int, rng: random.Random) -> str:
    """Wait a random moment (start-up, or a random number of logged lines), then signal."""
    if rng.random() < 0.2:
        delay = rng.uniform(0.05, 2.5)
        time.sleep(delay)
        moment = f"{delay:.2f} s after start"
    else:
        lines = rng.randint(1, STEPS + 6)
        deadline = time.monotonic() + 300
        while process.poll() is None and time.monotonic() < deadline:
            run_dir = run_dir_of(runs_dir)
            metrics = run_dir / "metrics.jsonl" if run_dir else None
            if metrics and metrics.exists() and metrics.read_bytes().count(b"\n") >= lines:
                break
            time.sleep(0.005)
        moment = f"after {lines} lines"
    if process.poll() is None:
        process.send_signal(signum)
    process.wait()
    return f"{signal.Signals(signum).name} {moment}"


def trial(kind: str, number: int, seed: int, reference: tuple, scratch: Path) -> Trial:
    rng = random.Random(seed)
    root = Path(tempfile.mkdtemp(prefix=f"{kind}{number}-", dir=scratch))
    runs_dir, cwd = root / "runs", root / "cwd"
    cwd.mkdir()
    signum = signal.SIGKILL if kind == "kill" else rng.choice([signal.SIGINT, signal.SIGTERM])
    details = [disturb(launch(runs_dir, cwd), runs_dir, signum, rng)]
    launches = 1
    if kind == "kill" and rng.random() < 1 / 3:  # a double fault: the resume is killed too
        details.append(disturb(launch(runs_dir, cwd), runs_dir, signal.SIGKILL, rng))
        launches += 1
    while launches < 6:
        launches += 1
        if launch(runs_dir, cwd).wait() == 0:
            break
    run_dir = run_dir_of(runs_dir)
    identical = run_dir is not None and record(run_dir) == reference
    return Trial(kind, number, "; ".join(details), identical, launches)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--signals", type=int, default=20)
    parser.add_argument("--budget-s", type=float, default=900.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=None, help="default: random")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fault-check-") as scratch_name:
        scratch = Path(scratch_name)
        reference_root = scratch / "reference"
        (reference_root / "cwd").mkdir(parents=True)
        if launch(reference_root / "runs", reference_root / "cwd").wait() != 0:
            print("error: the uninterrupted reference run failed", file=sys.stderr)
            return 1
        reference = record(run_dir_of(reference_root / "runs"))
        plan = [("kill", i) for i in range(args.kills)] + [
            ("signal", i) for i in range(args.signals)
        ]
        random.Random(seed).shuffle(plan)
        print(f"{len(plan)} trials (seed {seed}), {args.workers} at a time", flush=True)
        trials: list[Trial] = []
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            futures = []
            for index, (kind, number) in enumerate(plan):
                futures.append(
                    pool.submit(
                        lambda k=kind, n=number, s=seed + index: (
                            None
                            if time.monotonic() - began > args.budget_s
                            else trial(k, n, s, reference, scratch)
                        )
                    )
                )
            for future in futures:
                done = future.result()
                if done is None:
                    continue
                trials.append(done)
                verdict = "identical" if done.identical else "DIFFERENT"
                print(
                    f"{done.kind:6} #{done.number:<2} {verdict:9} ({done.launches} launches; "
                    f"{done.detail})",
                    flush=True,
                )
    for kind in ("kill", "signal"):
        of_kind = [t for t in trials if t.kind == kind]
        same = sum(t.identical for t in of_kind)
        print(f"{kind} trials: {same} identical / {len(of_kind)} total")
    skipped = len(plan) - len(trials)
    if skipped:
        print(f"{skipped} trials not started within --budget-s {args.budget_s:.0f}")
    print(f"done in {time.monotonic() - began:.0f} s")
    return 0 if trials and all(t.identical for t in trials) else 1


if __name__ == "__main__":
    sys.exit(main())
