"""``python -m scripts.download_data iwslt14``: fetch the archive fairseq's current
``prepare-iwslt14.sh`` downloads into ``<data_dir>/iwslt14/orig/``, extract it, and prepare it
natively (``data.iwslt14.prepare``) into ``<data_dir>/iwslt14/iwslt14.tokenized.de-en/``. ``check``
counts the prepared lines against fairseq's split sizes (160,239 / 7,283 / 6,750). The binarized
cache is built by the first training run (``data.translation.corpus.load_corpus``)."""

from __future__ import annotations

import os
import shutil
import tarfile
import urllib.request
from pathlib import Path

from data import DataUnavailable
from data.iwslt14 import files
from data.translation.preparation import default_workers


def check(data_dir: Path) -> str:
    """A line with the split sizes; DataUnavailable when the prepared files are missing,
    ValueError when their sizes differ from fairseq's preparation."""
    where = files.prepared_dir(data_dir)
    sizes: dict[str, int] = {}
    for split in files.RELEASE_PAIRS:
        counts = []
        for lang in files.LANGUAGES:
            path = where / f"{split}.{lang}"
            if not path.is_file():
                command = files.PREPARE_COMMAND.format(data_dir=data_dir)
                raise DataUnavailable(f"IWSLT'14 file {path} is missing; run `{command}`")
            with path.open("rb") as stream:
                counts.append(sum(1 for _ in stream))
        if counts[0] != counts[1]:
            raise ValueError(f"{where}/{split}.de has {counts[0]} lines but .en has {counts[1]}")
        sizes[split] = counts[0]
    found = " / ".join(f"{sizes[split]:,}" for split in files.RELEASE_PAIRS)
    if sizes != files.RELEASE_PAIRS:
        expected = " / ".join(f"{size:,}" for size in files.RELEASE_PAIRS.values())
        raise ValueError(
            f"IWSLT'14 in {where} has {found} train/valid/test pairs, fairseq's preparation "
            f"gives {expected}: delete the folder and prepare again"
        )
    return f"IWSLT'14 De-En in {where}: {found} train/valid/test pairs, as fairseq prepares it"


def fetch_archive(data_dir: Path, url: str = files.ARCHIVE_URL) -> Path:
    """The archive in ``<data_dir>/iwslt14/orig/`` (downloaded unless already there)."""
    orig = files.orig_dir(data_dir)
    archive = orig / url.rsplit("/", 1)[-1]
    if not archive.is_file():
        orig.mkdir(parents=True, exist_ok=True)
        partial = archive.with_name(archive.name + ".part")
        with urllib.request.urlopen(url) as response, partial.open("wb") as out:
            shutil.copyfileobj(response, out)
        partial.rename(archive)
    return archive


class UnsafeArchiveMember(ValueError):
    """A member of an archive that would land outside the folder it is extracted into."""


def extract(archive: Path) -> Path:
    """Unpack the archive next to itself; the ``de-en/`` folder."""
    try:
        with tarfile.open(archive) as tar:
            extract_safely(tar, archive.parent)
    except UnsafeArchiveMember as error:
        raise ValueError(f"{archive} is refused ({error}): delete it") from None
    except tarfile.TarError as error:
        raise ValueError(f"{archive} is not a readable tar archive ({error}): delete it") from None
    folder = archive.parent / "de-en"
    if not folder.is_dir():
        raise ValueError(f"{archive} has no de-en/ folder: it is not fairseq's IWSLT'14 archive")
    return folder


def extract_safely(tar: tarfile.TarFile, target: Path) -> None:
    """Every member into ``target``, none outside it: tarfile's ``"data"`` filter where this
    Python has it (3.11.4 and later), else ``extract_checked``. UnsafeArchiveMember names a
    member either refuses."""
    if not hasattr(tarfile, "data_filter"):
        extract_checked(tar, target)
        return
    try:
        tar.extractall(target, filter="data")
    except tarfile.FilterError as error:
        raise UnsafeArchiveMember(str(error)) from None


def extract_checked(tar: tarfile.TarFile, target: Path) -> None:
    """``extractall`` for a Python without extraction filters (3.11.0 to 3.11.3): each member is
    checked just before it is extracted (so links extracted before it are followed) and refused
    when it is an absolute path, lands outside ``target`` (``..``, or through a link), is a link
    that points outside ``target``, or is a device or FIFO; setuid/setgid bits and group/other
    write permissions are dropped, as the ``"data"`` filter does. A refused member stops the
    extraction with UnsafeArchiveMember."""
    root = os.path.realpath(target)

    def inside(path: str) -> bool:
        return os.path.commonpath([root, path]) == root

    def checked():
        for member in tar:
            name = member.name
            if os.path.isabs(name) or name.startswith(("/", os.sep)):
                raise UnsafeArchiveMember(f"member {name!r} has an absolute path")
            destination = os.path.realpath(os.path.join(root, name))
            if member.issym() or member.islnk():  # a link replaces what its path holds
                folder, base = os.path.split(os.path.join(root, name.rstrip("/")))
                if base in ("", ".", ".."):
                    raise UnsafeArchiveMember(f"link {name!r} has no name of its own")
                destination = os.path.join(os.path.realpath(folder), base)
            if not inside(destination):
                raise UnsafeArchiveMember(f"member {name!r} would be extracted outside {root}")
            if member.issym() or member.islnk():
                link = member.linkname
                if os.path.isabs(link):
                    raise UnsafeArchiveMember(f"link {name!r} points to the absolute path {link!r}")
                # a symbolic link is relative to its own folder, a hard link to the archive's root
                start = os.path.dirname(destination) if member.issym() else root
                if not inside(os.path.realpath(os.path.join(start, link))):
                    raise UnsafeArchiveMember(f"link {name!r} points outside {root} ({link!r})")
            elif not (member.isfile() or member.isdir()):
                raise UnsafeArchiveMember(f"member {name!r} is a device or FIFO")
            else:
                member.mode &= 0o755
            yield member

    # Where this Python has filters (a test calling this directly), the check above replaces them.
    trusted = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
    tar.extractall(target, members=checked(), **trusted)


def download(data_dir: Path, url: str = files.ARCHIVE_URL, workers: int | None = None) -> None:
    """Fetch, extract and prepare (skipped when the prepared files are already there)."""
    prepared = files.prepared_dir(data_dir)
    if all(
        (prepared / f"{s}.{lang}").is_file() for s in files.RELEASE_PAIRS for lang in ("de", "en")
    ):
        return
    from data.iwslt14.prepare import prepare

    folder = extract(fetch_archive(Path(data_dir), url))
    prepare(folder, prepared, workers or default_workers())
