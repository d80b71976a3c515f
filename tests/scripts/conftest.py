"""A real single-node Slurm for the launcher tests (scripts/slurm_local.sh), started once per
session and stopped at its end unless it was already running before the session."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.experiments.cli import REPO_ROOT

SLURM_LOCAL = REPO_ROOT / "scripts" / "slurm_local.sh"
SLURM_PROGRAMS = ("slurmctld", "slurmd", "munged", "sbatch", "scancel", "scontrol")


def slurm_unavailable() -> str | None:
    """Why the local Slurm cannot start here, or None."""
    for program in SLURM_PROGRAMS:
        if shutil.which(program) is None and not Path("/usr/sbin", program).exists():
            return (
                f"{program} is not installed: scripts/install_slurm.sh installs Debian's "
                "slurmctld, slurmd, slurm-client and munge (.ci/run runs it)"
            )
    if os.geteuid() != 0:
        return "the local Slurm (scripts/slurm_local.sh) starts its daemons as root"
    return None


def slurm_local(command: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SLURM_LOCAL), command], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def slurm_env() -> Iterator[dict[str, str]]:
    """The environment variables that reach the running local Slurm (``SLURM_CONF``)."""
    reason = slurm_unavailable()
    if reason is not None:
        pytest.skip(reason)
    was_running = slurm_local("status").returncode == 0
    started = slurm_local("start")
    assert started.returncode == 0, started.stdout + started.stderr
    exports = slurm_local("env").stdout.split()
    assert exports[0] == "export" and exports[1].startswith("SLURM_CONF="), exports
    conf = exports[1].removeprefix("SLURM_CONF=")
    yield {"SLURM_CONF": conf}
    if not was_running:
        stopped = slurm_local("stop")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
