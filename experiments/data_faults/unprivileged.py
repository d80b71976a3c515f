"""Commands run as user ``nobody``, so that file permissions apply as they do to a non-root user:
root reads and writes any file (CAP_DAC_OVERRIDE), and the fault trial and the tests often run as
root. ``setpriv`` (util-linux) drops the user, the group and the supplementary groups."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

NOBODY = 65534


def can_drop_privileges() -> bool:
    """True when commands can be run as nobody here (root, and ``setpriv`` installed)."""
    return os.geteuid() == 0 and shutil.which("setpriv") is not None


def as_nobody(argv: Sequence[str]) -> list[str]:
    """``argv`` prefixed to run as nobody (``can_drop_privileges()`` must hold)."""
    drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    return [*drop, *argv]


def give_to_nobody(root: Path) -> None:
    """Make nobody the owner of everything under ``root`` (as root; elsewhere a no-op, the
    current user already owns what it wrote)."""
    if not can_drop_privileges():
        return
    for folder, names, files in os.walk(root):
        os.chown(folder, NOBODY, NOBODY)
        for name in (*names, *files):
            os.chown(os.path.join(folder, name), NOBODY, NOBODY, follow_symlinks=False)
