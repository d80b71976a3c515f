"""The run directory's files (``docs/architecture.md``, "The run directory") and its lock.

Local files are the source of truth: ``config.yaml``, ``meta.json``, ``metrics.jsonl``,
``summary.json``, ``checkpoint.pt`` and ``lock``. Every JSON file is replaced atomically; a write
that fails (a full disk) leaves the previous file intact and no temporary file behind. A run
directory whose files are damaged (``CorruptRun``) is refused in one line naming the file, what
is wrong and the two ways out.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Any, BinaryIO

from omegaconf import DictConfig, OmegaConf

FINAL_STATUSES = frozenset({"finished", "diverged"})


STORAGE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})
"""The write errors that mean "the storage cannot take this file": a full disk or quota, a file
too large, a read-only file system."""


class RunLocked(Exception):
    """Another live process holds the run directory."""


class CorruptRun(Exception):
    """A file of the run directory is damaged; the message names it and the ways out."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"{path} {problem}: restore the file, or start the run afresh with force=true"
        )


def is_storage_error(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in STORAGE_ERRORS


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` holds either its old or its new content, never a mix:
    temporary file, flush, fsync, rename, fsync of the directory. When the write fails (a full
    disk) the temporary file is removed and ``path`` keeps its old content."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
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


def metrics_problem(path: Path) -> str | None:
    """What is wrong with a ``metrics.jsonl``, or None: every line must be one JSON object and
    the file must end with a newline (a NUL-padded or cut file fails). Checks the shape of each
    line and parses the ones that look wrong, so thousands of runs are checked quickly."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    if data and not data.endswith(b"\n"):
        return f"ends in the middle of line {len(data.splitlines())}"
    for number, line in enumerate(data.splitlines(), 1):
        if not (line.startswith(b"{") and line.endswith(b"}")):
            return f"line {number} is not a JSON object"
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
        if self.lock_path.exists() and not self.lock_path.is_file():
            raise CorruptRun(self.lock_path, "is not a file (the lock must be one)")
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

    def launch_action(self, force: bool) -> tuple[str, str | None]:
        """What a launch would do with this directory, and the status it holds: ``new`` (no
        run yet), ``resume`` (an unfinished run: killed, interrupted, failed or running now),
        ``skip`` (finished or diverged) or ``re-run`` (finished, with ``force=true``). The
        sweep launcher, ``scripts.sweep_plan`` and the run's preparation all decide here."""
        summary = self.summary()
        status = summary.get("status") if summary else None
        if status in FINAL_STATUSES:
            return ("re-run" if force else "skip"), status
        if status is not None or self.config_path.exists():
            return "resume", status
        return "new", None

    def stored_config(self) -> dict[str, Any] | None:
        """The config a previous launch stored, None when there is none; CorruptRun when the
        file is not a readable YAML mapping."""
        path = self.config_path
        if not path.exists():
            return None
        if not path.is_file():
            raise CorruptRun(path, "is not a file")
        try:
            stored = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
        except Exception as error:  # noqa: BLE001 - YAML and OmegaConf raise many types
            raise CorruptRun(path, f"is not readable YAML ({type(error).__name__})") from None
        if not isinstance(stored, dict) or "task" not in stored:
            raise CorruptRun(path, "is not a run config (no task)")
        return stored

    def write_config(self, cfg: DictConfig, overrides: list[str]) -> None:
        write_atomic(self.config_path, OmegaConf.to_yaml(cfg, resolve=True).encode())
        hydra_dir = self.path / ".hydra"
        hydra_dir.mkdir(exist_ok=True)
        listing = OmegaConf.to_yaml(OmegaConf.create(list(overrides)))
        write_atomic(hydra_dir / "overrides.yaml", listing.encode())

    def clear(self) -> None:
        """Remove a previous attempt's records (``force=true``); the lock stays."""
        for path in (self.metrics_path, self.summary_path, self.checkpoint_path):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        shutil.rmtree(self.path / "snapshots", ignore_errors=True)
        if self.config_path.is_dir():
            shutil.rmtree(self.config_path)

    def check_metrics(self, offset: int) -> None:
        """Before resuming from a checkpoint that recorded ``offset`` bytes of ``metrics.jsonl``:
        the file must hold at least that much, ending with a complete JSON line. CorruptRun
        otherwise (resuming would pad the file or continue from a broken record)."""
        path = self.metrics_path
        size = path.stat().st_size if path.is_file() else -1
        if size < offset:
            found = "is missing" if size < 0 else f"holds {size} bytes"
            raise CorruptRun(
                path, f"{found}, but checkpoint.pt was written after {offset} bytes of it"
            )
        if offset == 0:
            return
        with open(path, "rb") as handle:
            handle.seek(max(0, offset - 65536))
            kept = handle.read(offset - max(0, offset - 65536))
        lines = kept.split(b"\n")
        try:
            if lines[-1] != b"":
                raise ValueError("no newline")
            json.loads(lines[-2])
        except (ValueError, IndexError):
            raise CorruptRun(
                path, f"has no complete JSON line before byte {offset} (what checkpoint.pt saw)"
            ) from None

    def truncate_metrics(self, offset: int) -> None:
        """Drop the events written after the checkpoint being resumed (no duplicates). Never
        extends the file (``check_metrics`` refuses a file shorter than the checkpoint saw)."""
        if self.metrics_path.is_file() and self.metrics_path.stat().st_size > offset:
            with open(self.metrics_path, "r+b") as handle:
                handle.truncate(offset)

    def keep_corrupt_copy(self, path: Path) -> Path:
        """Keep an unreadable file beside itself (``<name>.corrupt-<time>``) before it is
        replaced, so no history is lost silently."""
        copy = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        shutil.copyfile(path, copy)
        return copy
