"""A disk that fills up while a cache is built, on a real small tmpfs (issue 22, point 4): the
One Billion Word cache in-process and the IWSLT'14 binarized cache through the real command line.
Each is one line naming the cache's folder, leaves no partial build behind, and the same call
or command builds the cache once the disk has room (the tmpfs remounted bigger)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from data import DataError
from data.lm1b.cache import cache_dir, load_or_build
from data.lm1b.files import find_corpus
from data.sample_corpora import write_iwslt14, write_release
from experiments.data_faults.corpora import CORPORA
from tests.experiments.cli import train_env

PAGE = 4096
ROOMY = 8 * 2**20
NO_SPACE = os.strerror(28)  # ENOSPC: "No space left on device"


class SmallDisk:
    """A mounted tmpfs whose size can be changed (``mount -o remount,size=``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def used(self) -> int:
        stat = os.statvfs(self.path)
        return (stat.f_blocks - stat.f_bfree) * stat.f_frsize

    def resize(self, size: int) -> None:
        remount = ["mount", "-o", f"remount,size={size}", str(self.path)]
        subprocess.run(remount, check=True, capture_output=True)

    def leave_room(self, pages: int) -> None:
        """Shrink the disk to what it holds plus ``pages`` pages."""
        self.resize(self.used() + pages * PAGE)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    path = tmp_path / "disk"
    path.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", f"size={ROOMY}", "tmpfs", str(path)]
    done = subprocess.run(mount, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield SmallDisk(path)
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_a_full_disk_while_the_lm1b_cache_is_built_is_one_line_and_leaves_no_partial_cache(
    small_disk: SmallDisk,
) -> None:
    data_dir = small_disk.path
    write_release(data_dir, 2, 2, per_shard=400)
    small_disk.leave_room(3)  # the vocabulary fits, the training ids do not
    with pytest.raises(DataError) as full:
        load_or_build(find_corpus(data_dir), data_dir, 3, log=lambda line: None)
    message = str(full.value)
    assert NO_SPACE in message and str(cache_dir(data_dir, "r13", 3)) in message
    assert "\n" not in message
    left = sorted(path.name for path in (data_dir / "lm1b-cache").iterdir())
    assert left in ([], ["r13-threshold3.lock"])  # no .partial folder, no cache
    small_disk.resize(ROOMY)
    corpus = load_or_build(find_corpus(data_dir), data_dir, 3, log=lambda line: None)
    assert len(corpus.train) > 0 and len(corpus.heldout) > 0


def test_a_full_disk_while_iwslt_is_binarized_is_one_line_and_the_same_command_trains_later(
    small_disk: SmallDisk, tmp_path: Path
) -> None:
    data_dir, runs_dir, cwd = small_disk.path, tmp_path / "runs", tmp_path / "cwd"
    write_iwslt14(data_dir)
    cwd.mkdir()
    small_disk.leave_room(3)  # the dictionaries fit, the arrays do not
    command = [sys.executable, "-m", "experiments.train",
               *CORPORA["iwslt14"].run(data_dir, runs_dir)]  # fmt: skip

    def launch() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, cwd=cwd, env=train_env(), capture_output=True, text=True, timeout=600
        )

    full = launch()
    lines = full.stderr.strip().splitlines()
    assert full.returncode == 2 and len(lines) == 1, full.stderr
    bin_parent = data_dir / "iwslt14" / "data-bin"
    assert NO_SPACE in lines[0] and str(bin_parent) in lines[0]
    assert [path.name for path in bin_parent.iterdir() if not path.name.endswith(".lock")] == []
    assert not list(runs_dir.rglob("summary.json"))  # refused before training: no run
    small_disk.resize(ROOMY)
    again = launch()
    assert again.returncode == 0, again.stderr
    assert (bin_parent / "iwslt14.tokenized.de-en" / "manifest.json").is_file()
