"""Fetch and check datasets: ``python -m scripts.download_data DATASET [--data-dir DIR] [--check]``.

``cifar10`` is downloaded with torchvision into ``<data_dir>/cifar-10-batches-py/`` and its files
are checked against the official md5 sums. ``imagenet`` cannot be downloaded (its licence asks
for a manual request): the command checks the local folder layout and says what it expects.
``--check`` only verifies what is already there. ``--data-dir`` defaults to ``$DATA_DIR`` or
``datasets`` (the training config's ``data_dir``).

Exit codes: 0 present and intact; 1 a download failed or a file is corrupt; 2 data missing or
bad arguments. Adding a dataset is one entry in ``DATASETS``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from data import DataUnavailable, cifar10


@dataclass(frozen=True)
class DatasetEntry:
    check: Callable[[Path], str]  # a line on success; DataUnavailable / ValueError otherwise
    download: Callable[[Path], None] | None  # None: cannot be downloaded


def _check_cifar10(data_dir: Path) -> str:
    bad = cifar10.verify_integrity(data_dir)
    if not bad:
        return f"CIFAR-10 in {cifar10.folder(data_dir)} matches the official md5 sums"
    missing = [name for name in bad if not (cifar10.folder(data_dir) / name).is_file()]
    if len(missing) == len(bad):
        command = cifar10.DOWNLOAD_COMMAND.format(data_dir=data_dir)
        raise DataUnavailable(
            f"CIFAR-10 files missing in {cifar10.folder(data_dir)}: {', '.join(missing)}; "
            f"run `{command}`"
        )
    raise ValueError(
        f"CIFAR-10 files in {cifar10.folder(data_dir)} differ from the official release "
        f"(md5): {', '.join(bad)}; delete them and download again"
    )


def _check_imagenet(data_dir: Path) -> str:
    from data import imagenet

    files = imagenet.scan(data_dir)
    return (
        f"ImageNet in {imagenet.root(data_dir)}: {len(files.classes)} classes, "
        f"{len(files.train)} training and {len(files.val)} validation images"
    )


DATASETS = {
    "cifar10": DatasetEntry(check=_check_cifar10, download=cifar10.download),
    "imagenet": DatasetEntry(check=_check_imagenet, download=None),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.download_data", description=__doc__)
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("--data-dir", default=os.environ.get("DATA_DIR", "datasets"))
    parser.add_argument("--check", action="store_true", help="only verify the local files")
    args = parser.parse_args(argv)
    entry, data_dir = DATASETS[args.dataset], Path(args.data_dir)
    try:
        if not args.check and entry.download is not None:
            entry.download(data_dir)
        print(entry.check(data_dir))
    except DataUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ValueError, OSError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
