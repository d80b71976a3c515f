"""Build ``.gpu-wheels/``: the pure-Python dependencies the GPU check needs, as wheels for the
GPU machine (CPython 3.12, x86-64 manylinux, no network there), at the versions installed here.

``antlr4-python3-runtime`` (OmegaConf's parser) has only a source distribution on the index, so
it is built here into a wheel (it is pure Python). ``bootstrap`` installs the folder there.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[3]
PURE = ("hydra-core", "omegaconf", "pytest", "pluggy", "iniconfig", "packaging", "Pygments", "tqdm")
BINARY = ("PyYAML",)
BUILT = ("antlr4-python3-runtime",)
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


def pip(*arguments: str) -> None:
    command = [sys.executable, "-m", "pip", *arguments]
    if subprocess.run(command).returncode != 0:
        sys.exit(f"error: {' '.join(command)} failed")


def check(out: Path, python_version: str) -> list[str]:
    """One wheel per package, each for any Python or for this CPython version."""
    tag = "cp" + python_version.replace(".", "")
    names = sorted(path.name for path in out.glob("*.whl"))
    problems = [name for name in names if "-py3-none-any" not in name and f"-{tag}-" not in name]
    projects = [name.split("-")[0].lower() for name in names]
    problems += [f"two wheels of {p}" for p in set(projects) if projects.count(p) > 1]
    for name in names:
        with zipfile.ZipFile(out / name) as wheel:
            if not any(entry.endswith(".dist-info/METADATA") for entry in wheel.namelist()):
                problems.append(f"{name}: no METADATA")
    return problems


def main(argv: list[str] | None = None) -> None:
    """``python -m scripts.gpu_check.wheels [--python-version 3.12] [--out .gpu-wheels]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python-version", default="3.12")
    parser.add_argument("--out", type=Path, default=PROJECT / ".gpu-wheels")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    target = ["--python-version", args.python_version, "--implementation", "cp",
              "--only-binary=:all:", *(f"--platform={p}" for p in PLATFORMS)]  # fmt: skip
    pins = [f"{name}=={version(name)}" for name in (*PURE, *BINARY)]
    pip("download", "--quiet", "--no-deps", "--dest", str(args.out), *target, *pins)
    built = [f"{name}=={version(name)}" for name in BUILT]
    pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(args.out), *built)
    problems = check(args.out, args.python_version)
    if problems:
        sys.exit("error: " + "; ".join(problems))
    total = sum(path.stat().st_size for path in args.out.glob("*.whl"))
    print(f"{len(list(args.out.glob('*.whl')))} wheels, {total / 2**20:.1f} MiB in {args.out}")
