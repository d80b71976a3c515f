"""``python -m scripts.download_data cifar10``: torchvision's download into
``<data_dir>/cifar-10-batches-py/``, then a check against the official md5 sums."""

from __future__ import annotations

from pathlib import Path

from data import DataUnavailable
from data.cifar10 import files

download = files.download


def check(data_dir: Path) -> str:
    """A line saying the files are intact; DataUnavailable when missing, ValueError when they
    differ from the official release."""
    bad = files.verify_integrity(data_dir)
    where = files.folder(data_dir)
    if not bad:
        return f"CIFAR-10 in {where} matches the official md5 sums"
    missing = [name for name in bad if not (where / name).is_file()]
    if len(missing) == len(bad):
        command = files.DOWNLOAD_COMMAND.format(data_dir=data_dir)
        raise DataUnavailable(
            f"CIFAR-10 files missing in {where}: {', '.join(missing)}; run `{command}`"
        )
    raise ValueError(
        f"CIFAR-10 files in {where} differ from the official release (md5): {', '.join(bad)}; "
        "delete them and download again"
    )
