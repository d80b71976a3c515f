"""Run a snippet of Python as user nobody, so that file permissions apply as they would to a
non-root user (the tests run as root in CI, and root reads and writes any file). The command
is the fault trial's (``experiments.data_faults.unprivileged``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.data_faults.unprivileged import NOBODY, as_nobody, can_drop_privileges

__all__ = ["NOBODY", "needs_root", "run_as_nobody"]

REPO_ROOT = Path(__file__).resolve().parents[2]

needs_root = pytest.mark.skipif(not can_drop_privileges(), reason="needs root and setpriv")


def run_as_nobody(code: str) -> subprocess.CompletedProcess[str]:
    """``python -c code`` as nobody; a ``DataError`` it lets out exits 1 with its line."""
    wrapped = (
        "import sys\nfrom data import DataError\ntry:\n"
        + "".join(f"    {line}\n" for line in code.splitlines())
        + "except DataError as error:\n    sys.exit(f'error: {error}')\n"
    )
    command = as_nobody([sys.executable, "-c", wrapped])
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
