"""``python -m scripts.download_data imagenet``: ILSVRC2012 cannot be downloaded (its licence
asks for a manual request); this checks the local ImageFolder trees and says what it expects."""

from __future__ import annotations

from pathlib import Path

from data.imagenet import files

download = None


def check(data_dir: Path) -> str:
    found = files.scan(data_dir)
    return (
        f"ImageNet in {files.root(data_dir)}: {len(found.classes)} classes, "
        f"{len(found.train)} training and {len(found.val)} validation images"
    )
