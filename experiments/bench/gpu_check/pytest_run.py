"""The optimizer tests' CUDA variants, through pytest in a subprocess.

``tests/optimizers/test_paths.py`` (foreach, per-tensor and fused paths against each other, bf16
parameters, the fused step compiling once per bucket) and ``tests/optimizers/test_api.py``
(``state_dict`` loaded onto CUDA) carry CUDA parameters that skip without a GPU; ``-k cuda``
selects exactly those, the slow fused ones included. The JUnit XML report gives each test's
outcome, and every skip's reason is kept, so a CUDA test that did not run says why.
Third-party pytest plugins of the machine are not loaded (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``):
the carried pytest must not meet plugins built for another version.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

from experiments.bench.gpu_check.record import Outcome

PROJECT = Path(__file__).resolve().parents[3]
CUDA_TESTS = ("tests/optimizers/test_paths.py", "tests/optimizers/test_api.py")


def run_pytest(files: tuple[str, ...], selection: str, timeout_s: float) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.xml"
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            selection,
            f"--junitxml={report}",
            *files,
        ]
        env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        try:
            done = subprocess.run(
                command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=timeout_s
            )
        except subprocess.TimeoutExpired:
            raise Outcome("error", f"pytest ran past its {timeout_s:.0f} s limit") from None
        if not report.exists():
            tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
            raise Outcome(
                "error", f"pytest wrote no report (exit {done.returncode})", {"output_tail": tail}
            )
        cases = ElementTree.parse(report).getroot().iter("testcase")
        outcomes, skipped, failed = Counter(), Counter(), []
        for case in cases:
            name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
            child = next((c for c in case if c.tag in ("skipped", "failure", "error")), None)
            kind = "passed" if child is None else child.tag
            outcomes[kind] += 1
            if kind == "skipped":
                skipped[(child.get("message") or "").strip()] += 1
            elif kind in ("failure", "error"):
                failed.append(f"{name}: {(child.get('message') or '').splitlines()[:1]}")
    details = {
        "command": " ".join(["pytest", "-k", selection, *files]),
        "exit_code": done.returncode,
        "passed": outcomes["passed"],
        "failed": outcomes["failure"] + outcomes["error"],
        "skipped": outcomes["skipped"],
        "skip_reasons": dict(skipped),
        "failures": failed[:20],
    }
    if failed:
        return {**details, "status": "fail", "why": f"{len(failed)} failed: {failed[0]}"}
    if not details["passed"]:
        reasons = "; ".join(sorted(skipped)) or "nothing collected"
        return {**details, "status": "skipped", "why": f"every selected test skipped: {reasons}"}
    if skipped:
        details["why"] = "skipped: " + "; ".join(f"{n} × {r}" for r, n in skipped.items())
    return details
