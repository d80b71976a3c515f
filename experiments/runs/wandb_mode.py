"""The mode the W&B mirror runs in, and why it is offline when it is.

``mode: auto`` is online only where ``wandb`` itself would find credentials: ``WANDB_API_KEY``,
else a netrc entry with a password for the host of ``WANDB_BASE_URL`` (default
``https://api.wandb.ai``; the entry's ``machine`` is the URL's host, with its port if it has
one), in the netrc file wandb reads (``$NETRC``, else ``~/.netrc``, else ``~/_netrc``). Nothing
here contacts a server. A base URL kept only in wandb's settings file (``wandb login --host``)
is not read: set ``WANDB_BASE_URL`` for a self-hosted server.
"""

from __future__ import annotations

import netrc
import os
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_BASE_URL = "https://api.wandb.ai"
OFFLINE_MODES = ("offline", "dryrun")  # wandb treats "dryrun" as "offline"


def netrc_path() -> Path:
    """The netrc file wandb reads (it may not exist)."""
    if os.environ.get("NETRC"):
        return Path(os.environ["NETRC"]).expanduser()
    unix, windows = Path("~/.netrc").expanduser(), Path("~/_netrc").expanduser()
    return windows if windows.exists() and not unix.exists() else unix


def netrc_machine() -> str:
    """The netrc ``machine`` wandb looks up: the host (and port) of ``WANDB_BASE_URL``."""
    return urlsplit(os.environ.get("WANDB_BASE_URL") or DEFAULT_BASE_URL).netloc


def has_netrc_key(path: Path, machine: str) -> bool:
    """Whether ``path`` holds an entry for ``machine`` with a password (the API key)."""
    try:
        entry = netrc.netrc(path).authenticators(machine) if machine else None
    except (OSError, netrc.NetrcParseError):
        return False
    return entry is not None and bool(entry[2])


def missing_credentials() -> str | None:
    """None where wandb would find an API key; otherwise why it would not, in a few words."""
    if os.environ.get("WANDB_API_KEY"):
        return None
    path, machine = netrc_path(), netrc_machine()
    if has_netrc_key(path, machine):
        return None
    source = " (WANDB_BASE_URL)" if os.environ.get("WANDB_BASE_URL") else ""
    return f"no WANDB_API_KEY and no {path} entry for {machine}{source}"


def resolve_mode(mode: str) -> tuple[str, str]:
    """The mode to run in and what decided it: ``WANDB_MODE`` in the environment wins, ``auto``
    is online only where credentials exist (else the reason is what is missing)."""
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"], f"WANDB_MODE={os.environ['WANDB_MODE']}"
    if mode != "auto":
        return mode, f"logger.wandb.mode={mode}"
    missing = missing_credentials()
    return ("offline", missing) if missing else ("online", "credentials found")
