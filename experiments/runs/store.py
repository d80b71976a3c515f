"""The run directory's files (``docs/architecture.md``, "The run directory") and its lock.

Local files are the source of truth: ``config.yaml``, ``meta.json``, ``metrics.jsonl``,
``summary.json``, ``checkpoint.pt`` and ``lock``. Every JSON file is replaced atomically.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path
from typing import Any, BinaryIO

from omegaconf import DictConfig, OmegaConf

FINAL_STATUSES = frozenset({"finished", "diverged"})


class RunLocked(Exception):
    """Another live process holds the run directory."""


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` holds either its old or its new content, never a mix:
    temporary file, flush, fsync, rename, fsync of the directory."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    write_atomic(path, (json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n").encode())


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


class RunDirectory:
    """One run's directory: its files, and the lock that keeps a second process out."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock_handle: BinaryIO | None = None

    config_path = property(lambda self: self.path / "config.yaml")
    meta_path = property(lambda self: self.path / "meta.json")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    summary_path = property(lambda self: self.path / "summary.json")
    checkpoint_path = property(lambda self: self.path / "checkpoint.pt")
    lock_path = property(lambda self: self.path / "lock")

    def acquire(self) -> None:
        """Take the fcntl lock, or raise ``RunLocked`` naming the holder (pid@host)."""
        self.path.mkdir(parents=True, exist_ok=True)
        handle = open(self.lock_path, "a+b")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().decode(errors="replace").strip() or "unknown"
            handle.close()
            raise RunLocked(f"run directory {self.path} is locked by {holder}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}@{socket.gethostname()}".encode())
        handle.flush()
        self._lock_handle = handle

    def release(self) -> None:
        if self._lock_handle is not None:
            self._lock_handle.truncate(0)
            fcntl.flock(self._lock_handle, fcntl.LOCK_UN)
            self._lock_handle.close()
            self._lock_handle = None

    def summary(self) -> dict[str, Any] | None:
        return read_json(self.summary_path)

    def is_final(self) -> bool:
        summary = self.summary()
        return summary is not None and summary.get("status") in FINAL_STATUSES

    def stored_config(self) -> dict[str, Any] | None:
        if not self.config_path.exists():
            return None
        return OmegaConf.to_container(OmegaConf.load(self.config_path), resolve=False)

    def write_config(self, cfg: DictConfig, overrides: list[str]) -> None:
        write_atomic(self.config_path, OmegaConf.to_yaml(cfg, resolve=True).encode())
        hydra_dir = self.path / ".hydra"
        hydra_dir.mkdir(exist_ok=True)
        listing = OmegaConf.to_yaml(OmegaConf.create(list(overrides)))
        write_atomic(hydra_dir / "overrides.yaml", listing.encode())

    def clear(self) -> None:
        """Remove a previous attempt's records (``force=true``); the lock stays."""
        for path in (self.metrics_path, self.summary_path, self.checkpoint_path):
            path.unlink(missing_ok=True)

    def truncate_metrics(self, offset: int) -> None:
        """Drop the events written after the checkpoint being resumed (no duplicates)."""
        if self.metrics_path.exists():
            with open(self.metrics_path, "r+b") as handle:
                handle.truncate(offset)
