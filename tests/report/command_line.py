"""A command of ``scripts/`` run as a user runs it: ``python -m scripts.<name> …`` in a
subprocess from the repository root. The tests call the library; these runs cover the entry
points (their argument parsing, exit codes and messages)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.experiments.cli import REPO_ROOT, train_env


def run_script(
    name: str, *arguments: str | Path, timeout: float = 600
) -> subprocess.CompletedProcess:
    """``python -m scripts.<name> <arguments>``, its output captured."""
    command = [sys.executable, "-m", f"scripts.{name}", *map(str, arguments)]
    return subprocess.run(
        command, cwd=REPO_ROOT, env=train_env(), capture_output=True, text=True, timeout=timeout
    )
