"""The damaged-data fault trial: a reference run per corpus, then each case (``cases``) in a fresh
copy of the reference's data directory, run through the real command line
(``python -m experiments.train``, as nobody when started as root) and classified against the
reference (``cases`` module docstring gives the outcomes).

Everything a case needs is real: the files on disk in their formats, permissions applied by the
kernel to an unprivileged user, SIGKILL from the fault hook (``OPTREPRO_FAULT``) for the resume
case."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from experiments.data_faults import damage
from experiments.data_faults.cases import Case, cases_of
from experiments.data_faults.corpora import CORPORA, TinyCorpus
from experiments.data_faults.unprivileged import as_nobody, can_drop_privileges, give_to_nobody

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 600
KILL_AFTER = "kill-after-step:5"
"""After update 5: the checkpoint of update 4 is on disk."""
PROGRESS = re.compile(r"^\S+#\w+ step \d+/\d+ \||^finished: |^(val|test|avg): sacrebleu")
"""Output lines that report training, not the data: left out when comparing what runs said."""


@dataclass(frozen=True)
class Launch:
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Reference:
    data_dir: Path
    events: list[dict]
    lines: frozenset[str]


@dataclass(frozen=True)
class Outcome:
    label: str
    corpus: str
    kind: str
    target: str
    verdict: str
    as_promised: bool
    promised: tuple[str, ...]
    detail: str
    seconds: float


def launch(overrides: list[str], root: Path, fault: str | None = None) -> Launch:
    """``python -m experiments.train`` in ``root/cwd``, as nobody when root can drop to it."""
    argv = [sys.executable, "-m", "experiments.train", *overrides]
    prefixes = ("WANDB_", "OPTREPRO_", "SLURM_", "HYDRA_", "DATA_DIR", "RANK", "WORLD_SIZE")
    env = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=str(REPO_ROOT), HOME=str(root))
    env.pop("XDG_CACHE_HOME", None)
    if fault:
        env["OPTREPRO_FAULT"] = fault
    (root / "cwd").mkdir(exist_ok=True)
    if can_drop_privileges():
        give_to_nobody(root)
        argv = as_nobody(argv)
    done = subprocess.run(argv, cwd=root / "cwd", env=env, capture_output=True, text=True,
                          timeout=TIMEOUT_S)  # fmt: skip
    return Launch(done.returncode, done.stdout, done.stderr)


def events(runs_dir: Path) -> list[dict]:
    """The run's ``metrics.jsonl`` without the clock (empty when there is no run)."""
    found = sorted(runs_dir.rglob("metrics.jsonl")) if runs_dir.is_dir() else []
    if not found:
        return []
    rows = [json.loads(line) for line in found[0].read_text().splitlines() if line.strip()]
    return [{key: value for key, value in row.items() if key != "time"} for row in rows]


def failed_run(runs_dir: Path) -> bool:
    for path in runs_dir.rglob("summary.json") if runs_dir.is_dir() else []:
        if json.loads(path.read_text()).get("status") == "failed":
            return True
    return False


def said(done: Launch, root: Path) -> frozenset[str]:
    """What a run said about anything but its training (its case folder written ``<root>``)."""
    text = (done.stdout + "\n" + done.stderr).replace(str(root), "<root>")
    lines = (line.strip() for line in text.splitlines())
    return frozenset(line for line in lines if line and not PROGRESS.search(line))


def classify(done: Launch, root: Path, reference: Reference) -> tuple[str, str]:
    """The verdict and the line that shows it (``cases`` module docstring)."""
    runs_dir = root / "runs"
    stderr = [
        line for line in done.stderr.replace(str(root), "<root>").splitlines() if line.strip()
    ]
    if done.returncode == 2 and len(stderr) == 1 and not failed_run(runs_dir):
        return "refused", stderr[0]
    if done.returncode != 0:
        last = stderr[-1] if stderr else f"exit {done.returncode}"
        return "traceback", f"exit {done.returncode}: {last}"
    new = sorted(said(done, root) - reference.lines)
    same = events(runs_dir) == reference.events
    if same:
        return ("rebuilt", new[0]) if new else ("same", "the reference's metrics, nothing said")
    return ("changed", new[0]) if new else ("wrong", "other metrics, nothing said")


def reference_run(corpus: TinyCorpus, scratch: Path) -> Reference:
    """The undamaged run, twice: the first builds the caches, the second (in its own
    ``runs_dir``) gives the lines a run says on intact data, so that a case's build line is new,
    and must train the same (the runs are deterministic)."""
    root = scratch / f"reference-{corpus.name}"
    data_dir = root / "data"
    corpus.write(data_dir)
    first = launch(corpus.run(data_dir, root / "runs"), root)
    again = launch(corpus.run(data_dir, root / "runs-again"), root)
    for done in (first, again):
        if done.returncode != 0:
            raise RuntimeError(f"the {corpus.name} reference run failed:\n{done.stderr[-2000:]}")
    if events(root / "runs") != events(root / "runs-again"):
        raise RuntimeError(f"the {corpus.name} reference run trained differently when repeated")
    return Reference(data_dir, events(root / "runs"), said(again, root))


def reversed_lines(path: Path) -> None:
    """The file's lines in the opposite order: the same size, other content."""
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(line.rstrip(b"\n") + b"\n" for line in reversed(lines)))


def _identity(data_dir: Path, cache_folder: str | None) -> int | None:
    """The cache folder's inode: a build replaces the whole folder in one rename."""
    if cache_folder is None or not (data_dir / cache_folder).is_dir():
        return None
    return (data_dir / cache_folder).stat().st_ino


def run_case(case: Case, reference: Reference, scratch: Path) -> Outcome:
    began = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix=f"{case.corpus}-{case.kind}-", dir=scratch))
    data_dir, corpus = root / "data", CORPORA[case.corpus]
    shutil.copytree(reference.data_dir, data_dir, symlinks=True)
    overrides = corpus.run(data_dir, root / "runs")
    verdict, detail = "", ""
    if case.kind == "kill-replace":
        killed = launch(overrides, root, fault=KILL_AFTER)
        if killed.returncode != -9:
            last = killed.stderr.strip().splitlines()[-1:] or [""]
            verdict, detail = "traceback", f"the run to kill exited {killed.returncode}: {last[0]}"
        reversed_lines(data_dir / case.target)
    elif case.kind == "empty-eval":
        for name in corpus.evaluation_files:
            damage.empty(data_dir / name)
    elif case.kind == "read-only":
        damage.read_only_without_cache(data_dir, corpus.cache_folder)
    else:
        damage.FILE_DAMAGE[case.kind](data_dir / case.target)
    if not verdict:
        before = _identity(data_dir, corpus.cache_folder)
        verdict, detail = classify(launch(overrides, root), root, reference)
        if verdict == "same" and before != _identity(data_dir, corpus.cache_folder):
            detail = "the reference's metrics, the cache built again without a line saying so"
    as_promised = verdict in case.promised
    return Outcome(case.label, case.corpus, case.kind, case.target, verdict, as_promised,
                   case.promised, detail, round(time.monotonic() - began, 1))  # fmt: skip


def remove(root: Path) -> None:
    """Remove a scratch folder whose cases left folders read-only and files unreadable."""
    for folder, _, _ in os.walk(root):
        os.chmod(folder, 0o755)
    shutil.rmtree(root, ignore_errors=True)


def run_trial(
    corpora: Iterable[str],
    *,
    jobs: int = 2,
    select: Callable[[Case], bool] = lambda case: True,
    report: Callable[[Outcome], None] = lambda outcome: None,
) -> list[Outcome]:
    """Run every selected case of ``corpora``, ``jobs`` at a time; ``report`` sees each outcome
    as it comes (in the cases' order)."""
    if os.geteuid() == 0 and not can_drop_privileges():
        raise RuntimeError("as root the trial runs its cases as nobody, which needs setpriv")
    scratch = Path(tempfile.mkdtemp(prefix="data-fault-trial-"))
    scratch.chmod(0o755)
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            chosen = [CORPORA[name] for name in corpora]
            runs = pool.map(lambda corpus: reference_run(corpus, scratch), chosen)
            references = {corpus.name: ref for corpus, ref in zip(chosen, runs, strict=True)}
            plan = [
                case
                for corpus in chosen
                for case in cases_of(corpus, references[corpus.name].data_dir)
                if select(case)
            ]
            futures = [
                pool.submit(run_case, case, references[case.corpus], scratch) for case in plan
            ]
            outcomes = []
            for future in futures:
                outcomes.append(future.result())
                report(outcomes[-1])
        return outcomes
    finally:
        remove(scratch)


def closing_lines(outcomes: list[Outcome]) -> list[str]:
    """``n as promised / n tried`` and the cases that were not, by verdict."""
    kept = sum(outcome.as_promised for outcome in outcomes)
    lines = [f"{kept} as promised / {len(outcomes)} tried"]
    for verdict in ("wrong", "traceback", "changed", "same", "rebuilt", "refused"):
        missed = [o.label for o in outcomes if o.verdict == verdict and not o.as_promised]
        if missed:
            lines.append(f"not as promised, {verdict} ({len(missed)}): {'; '.join(missed)}")
    return lines


def write_record(outcomes: list[Outcome], path: Path) -> None:
    record = {
        "tried": len(outcomes),
        "as_promised": sum(outcome.as_promised for outcome in outcomes),
        "cases": [asdict(outcome) for outcome in outcomes],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
