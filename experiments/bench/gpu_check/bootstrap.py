"""Run from source on a machine that lacks the pure-Python dependencies: install the carried
wheels (``.gpu-wheels/``, built by ``python -m scripts.gpu_check.wheels``) into a scratch folder
and start the check again with that folder on ``PYTHONPATH`` (its subprocesses inherit it).

The GPU machine has torch, numpy and pandas but not Hydra, OmegaConf, PyYAML or pytest, and
no network; ``pip install -e .`` would pin another torch, so the project runs from its checkout.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
WHEELS = Path(os.environ.get("OPTREPRO_GPU_WHEELS", PROJECT / ".gpu-wheels"))
"""The carried wheels (``$OPTREPRO_GPU_WHEELS`` names another folder, e.g. one built for the
Python at hand to try the bootstrap elsewhere)."""
NEEDED = ("hydra", "omegaconf", "antlr4", "yaml", "pytest", "tqdm")
MARK = "OPTREPRO_GPU_CHECK_BOOTSTRAPPED"


def missing() -> list[str]:
    return [name for name in NEEDED if importlib.util.find_spec(name) is None]


def ensure_dependencies(argv: list[str]) -> None:
    """Return when every needed module imports; otherwise install the wheels and re-execute
    ``python -m scripts.gpu_check`` (exit 2 with one line when that cannot work)."""
    absent = missing()
    if not absent:
        return
    if os.environ.get(MARK):
        sys.exit(f"error: still missing {', '.join(absent)} after installing {WHEELS}")
    wheels = sorted(WHEELS.glob("*.whl"))
    if not wheels:
        sys.exit(
            f"error: {', '.join(absent)} not installed and no wheels in {WHEELS}: build them "
            "on a machine with a package index: python -m scripts.gpu_check.wheels"
        )
    target = Path(tempfile.gettempdir()) / "optrepro-gpu-check-site"
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-index",
        "--no-deps",
        "--no-compile",
        "--upgrade",
        "--target",
        str(target),
        *map(str, wheels),
    ]
    if subprocess.run(command).returncode != 0:
        sys.exit(
            f"error: pip could not install the wheels of {WHEELS} for Python "
            f"{sys.version.split()[0]}"
        )
    paths = [str(target), str(PROJECT), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, MARK: "1", "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    print(f"installed {len(wheels)} wheels into {target}; starting again", flush=True)
    os.execve(sys.executable, [sys.executable, "-m", "scripts.gpu_check", *argv], env)
