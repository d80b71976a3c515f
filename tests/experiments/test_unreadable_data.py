"""Data the run may not read, or a data folder it may not write where a cache must be built, are
one line and exit 2 through the real command line, as a non-root user meets them (the command
runs as nobody: root reads any file), with no run directory left behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from data.sample_corpora import write_iwslt14, write_ptb
from experiments.data_faults.unprivileged import as_nobody, give_to_nobody
from tests.data.as_nobody import needs_root

REPO_ROOT = Path(__file__).resolve().parents[2]


def train_as_nobody(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    folders = [f"runs_dir={tmp_path / 'runs'}", f"data_dir={tmp_path / 'data'}"]
    command = [sys.executable, "-m", "experiments.train", *folders, "device=cpu", "max_steps=2"]
    command += overrides
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HOME": str(tmp_path)}
    return subprocess.run(
        as_nobody(command), capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300
    )


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A folder nobody can reach (pytest's own sit under a folder only root may enter)."""
    folder = Path(tempfile.mkdtemp(prefix="optrepro-nobody-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@needs_root
@pytest.mark.parametrize("case", ["unreadable-text", "read-only-folder"])
def test_unreadable_data_or_a_read_only_folder_is_one_line(tmp_path: Path, case: str) -> None:
    if case == "unreadable-text":
        write_ptb(tmp_path / "data", train=60, valid=20, test=20)
        task = ["task=ptb_lstm1", "task/size=smoke"]
        blocked = tmp_path / "data" / "ptb" / "ptb.test.txt"
    else:  # the IWSLT cache must be built in a folder nobody may write
        write_iwslt14(tmp_path / "data")
        task = ["task=iwslt14_de_en", "task/size=smoke"]
        blocked = tmp_path / "data" / "iwslt14"
    give_to_nobody(tmp_path)
    blocked.chmod(0o000 if case == "unreadable-text" else 0o555)
    refused = train_as_nobody(tmp_path, *task)
    line = refused.stderr.strip()
    assert refused.returncode == 2, refused.stderr
    assert "\n" not in line and "Traceback" not in line
    assert str(blocked) in line and f"data_dir={tmp_path / 'data'}" in line
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("summary.json"))
