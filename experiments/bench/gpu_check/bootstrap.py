"""Run from source on a machine that lacks the pure-Python dependencies (the GPU machine has
torch but not Hydra, OmegaConf, PyYAML or pytest, and no network): install the carried wheels
(``.gpu-wheels/``, ``wheels``) into a scratch folder and start the check again with that folder
on ``PYTHONPATH`` (its subprocesses inherit it)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[3]
WHEELS = Path(os.environ.get("OPTREPRO_GPU_WHEELS", PROJECT / ".gpu-wheels"))
"""``$OPTREPRO_GPU_WHEELS`` names another folder, e.g. wheels for the Python at hand."""
NEEDED = ("hydra", "omegaconf", "antlr4", "yaml", "pytest", "tqdm")
MARK = "OPTREPRO_GPU_CHECK_BOOTSTRAPPED"


def ensure_dependencies(argv: list[str]) -> None:
    """Return when every needed module imports; otherwise install the wheels and re-execute
    ``python -m scripts.gpu_check`` (exit 2 with one line when that cannot work)."""
    absent = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if not absent:
        return
    if os.environ.get(MARK):
        sys.exit(f"error: still missing {', '.join(absent)} after installing {WHEELS}")
    wheels = sorted(WHEELS.glob("*.whl"))
    if not wheels:
        build = "python -m scripts.gpu_check.wheels where there is a package index"
        sys.exit(f"error: {', '.join(absent)} not installed and no wheels in {WHEELS}: {build}")
    target = Path(tempfile.gettempdir()) / "optrepro-gpu-check-site"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
               "--no-compile", "--upgrade", "--target", str(target), *map(str, wheels)]  # fmt: skip
    if subprocess.run(command).returncode != 0:
        sys.exit(f"error: pip could not install the wheels of {WHEELS} for Python "
                 f"{sys.version.split()[0]}")  # fmt: skip
    paths = [str(target), str(PROJECT), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, MARK: "1", "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    print(f"installed {len(wheels)} wheels into {target}; starting again", flush=True)
    os.execve(sys.executable, [sys.executable, "-m", "scripts.gpu_check", *argv], env)
