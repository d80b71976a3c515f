"""Fetch and check datasets: ``python -m scripts.download_data DATASET [--data-dir DIR] [--check]``.

Each dataset is a package ``data/<dataset>/`` whose ``download`` module has ``check(data_dir)``
(a line on success; ``DataUnavailable`` when the data is missing, ``ValueError`` when it is
corrupt) and ``download`` (a function that fetches the data into ``data_dir``, or None when it
cannot be downloaded, like ImageNet). Adding a dataset is adding that module; this command finds
it. ``--check`` only verifies what is already there. ``--data-dir`` defaults to ``$DATA_DIR`` or
``datasets`` (the training config's ``data_dir``).

Exit codes: 0 present and intact; 1 a download failed or a file is corrupt; 2 data missing or
bad arguments.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

from data import DataUnavailable

DATA_PACKAGES = Path(__file__).resolve().parent
COMMAND = "python -m scripts.download_data"


def available() -> list[str]:
    """The datasets with a ``data/<dataset>/download.py``."""
    return sorted(path.parent.name for path in DATA_PACKAGES.glob("*/download.py"))


def dataset_module(name: str) -> ModuleType:
    return importlib.import_module(f"data.{name}.download")


def main(argv: list[str] | None = None) -> int:
    """The command line (``scripts/download_data.py``); returns the exit code."""
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__)
    parser.add_argument("dataset", choices=available())
    parser.add_argument("--data-dir", default=os.environ.get("DATA_DIR", "datasets"))
    parser.add_argument("--check", action="store_true", help="only verify the local files")
    args = parser.parse_args(argv)
    module, data_dir = dataset_module(args.dataset), Path(args.data_dir)
    try:
        if not args.check and module.download is not None:
            module.download(data_dir)
        print(module.check(data_dir))
    except DataUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ValueError, OSError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
