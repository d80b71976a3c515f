"""Extracting the IWSLT'14 archive on every admitted Python: tarfile's ``"data"`` filter where it
exists (3.11.4 and later), the suite's own member check before that (``extract_checked``, called
directly here), and both refuse a member that would land outside the target folder."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from data.iwslt14 import download
from data.iwslt14.download import UnsafeArchiveMember, extract_checked, extract_safely

HAS_FILTERS = hasattr(tarfile, "data_filter")


def _file(name: str, text: bytes = b"hallo\n", mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(text), mode
    return info, text


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def _directory(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return info, None


def write_archive(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


GOOD = [
    _directory("de-en"),
    _file("de-en/train.tags.de-en.de", b"Hallo Welt\n"),
    _file("de-en/train.tags.de-en.en", b"hello world\n", mode=0o4777),
    _link("de-en/alias.de", "train.tags.de-en.de"),
    _link("de-en/hard.en", "de-en/train.tags.de-en.en", kind=tarfile.LNKTYPE),
]


def _fifo(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.FIFOTYPE
    return info, None


MALICIOUS = {
    "dot-dot path": [_file("de-en/../../escape.txt")],
    "absolute path": [_file("/tmp/optrepro-escape.txt")],
    "symlink outside": [_directory("de-en"), _link("de-en/out", "../../..")],
    "absolute symlink": [_link("passwd", "/etc/passwd")],
    "hard link outside": [_link("hard", "../escape.txt", kind=tarfile.LNKTYPE)],
    # a link to the target itself is fine, a file or link written through it to its parent not
    "file through a link": [_link("here", "."), _file("here/../escape.txt")],
    "link through a link": [_link("here", "."), _link("here/../escape.txt", "here")],
    "fifo": [_fifo("pipe")],
}
REFUSED_BECAUSE = {
    "dot-dot path": "member 'de-en/../../escape.txt' would be extracted outside",
    "absolute path": "member '/tmp/optrepro-escape.txt' has an absolute path",
    "symlink outside": "link 'de-en/out' points outside",
    "absolute symlink": "link 'passwd' points to the absolute path '/etc/passwd'",
    "hard link outside": "link 'hard' points outside",
    "file through a link": "member 'here/../escape.txt' would be extracted outside",
    "link through a link": "member 'here/../escape.txt' would be extracted outside",
    "fifo": "member 'pipe' is a device or FIFO",
}


def _check_good(target: Path) -> None:
    folder = target / "de-en"
    assert (folder / "train.tags.de-en.de").read_text() == "Hallo Welt\n"
    assert (folder / "alias.de").is_symlink() and (
        folder / "alias.de"
    ).read_text() == "Hallo Welt\n"
    assert (folder / "hard.en").read_text() == "hello world\n"
    assert not os.stat(folder / "train.tags.de-en.en").st_mode & 0o7022  # no setuid, no g/o write


def _nothing_outside(scratch: Path, target: Path) -> None:
    assert sorted(p.name for p in scratch.iterdir()) == [target.name]
    assert not Path("/tmp/optrepro-escape.txt").exists()


def test_the_archive_extracts_through_the_branch_this_python_has(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "orig" / "de-en.tgz", GOOD)
    assert download.extract(archive) == tmp_path / "orig" / "de-en"
    _check_good(tmp_path / "orig")


def test_the_fallback_extracts_a_well_formed_archive(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "de-en.tgz", GOOD)
    target = tmp_path / "orig"
    with tarfile.open(archive) as tar:
        extract_checked(tar, target)
    _check_good(target)


@pytest.mark.parametrize("case", MALICIOUS)
def test_the_fallback_refuses_members_that_escape_the_target(tmp_path: Path, case: str) -> None:
    archive = write_archive(tmp_path / "archives" / "bad.tgz", MALICIOUS[case])
    scratch = tmp_path / "scratch"
    target = scratch / "orig"
    target.mkdir(parents=True)
    with tarfile.open(archive) as tar, pytest.raises(UnsafeArchiveMember) as refused:
        extract_checked(tar, target)
    assert str(refused.value).startswith(REFUSED_BECAUSE[case])
    _nothing_outside(scratch, target)


@pytest.mark.skipif(not HAS_FILTERS, reason="tarfile has no extraction filters before 3.11.4")
@pytest.mark.parametrize("case", [c for c in MALICIOUS if c != "absolute path"])
def test_the_data_filter_refuses_members_that_escape_the_target(tmp_path: Path, case: str) -> None:
    archive = write_archive(tmp_path / "archives" / "bad.tgz", MALICIOUS[case])
    scratch = tmp_path / "scratch"
    target = scratch / "orig"
    target.mkdir(parents=True)
    with tarfile.open(archive) as tar, pytest.raises(UnsafeArchiveMember):
        extract_safely(tar, target)
    _nothing_outside(scratch, target)


@pytest.mark.skipif(not HAS_FILTERS, reason="tarfile has no extraction filters before 3.11.4")
def test_the_data_filter_keeps_an_absolute_member_inside_the_target(tmp_path: Path) -> None:
    """The filter strips the leading ``/`` (the fallback refuses such a member)."""
    archive = write_archive(tmp_path / "archives" / "bad.tgz", MALICIOUS["absolute path"])
    target = tmp_path / "scratch" / "orig"
    target.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        extract_safely(tar, target)
    assert (target / "tmp" / "optrepro-escape.txt").is_file()
    _nothing_outside(tmp_path / "scratch", target)


@pytest.mark.parametrize("filters", [True, False] if HAS_FILTERS else [False])
def test_a_malicious_archive_is_refused_with_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, filters: bool
) -> None:
    """``extract`` on a Python without filters (simulated by hiding ``tarfile.data_filter``)
    takes the fallback; either way the error names the archive and the member."""
    if not filters:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    archive = write_archive(tmp_path / "orig" / "de-en.tgz", [*GOOD, *MALICIOUS["dot-dot path"]])
    with pytest.raises(
        ValueError, match=r"de-en\.tgz is refused \(.*escape\.txt.*\): delete it"
    ) as refused:
        download.extract(archive)
    checked = REFUSED_BECAUSE["dot-dot path"] in str(refused.value)
    assert checked is not filters  # the branch taken: the suite's own check without filters
    assert not (tmp_path / "escape.txt").exists()
