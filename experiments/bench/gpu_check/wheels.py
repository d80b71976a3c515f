"""``python -m scripts.gpu_check.wheels``: the pure-Python dependencies as ``.gpu-wheels/``."""

import argparse
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[3]
PURE = ("hydra-core", "omegaconf", "pytest", "pluggy", "iniconfig", "packaging", "Pygments", "tqdm")
BINARY = ("PyYAML",)
BUILT = ("antlr4-python3-runtime",)
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python-version", default="3.12")
    parser.add_argument("--out", type=Path, default=PROJECT / ".gpu-wheels")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    target = ["--python-version", args.python_version, "--implementation", "cp",
              "--only-binary=:all:", *(f"--platform={p}" for p in PLATFORMS)]  # fmt: skip
    pins = [f"{name}=={version(name)}" for name in (*PURE, *BINARY)]
    download = ["download", "--quiet", "--no-deps", "--dest", str(args.out), *target, *pins]
    built = ["wheel", "--quiet", "--no-deps", "--wheel-dir", str(args.out)]
    for command in (download, [*built, *(f"{name}=={version(name)}" for name in BUILT)]):
        if subprocess.run([sys.executable, "-m", "pip", *command]).returncode != 0:
            sys.exit(f"error: pip {' '.join(command)} failed")
    total = sum(path.stat().st_size for path in args.out.glob("*.whl"))
    print(f"{len(list(args.out.glob('*.whl')))} wheels, {total / 2**20:.1f} MiB in {args.out}")
