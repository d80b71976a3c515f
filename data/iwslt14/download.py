"""``python -m scripts.download_data iwslt14``: fetch the archive fairseq's current
``prepare-iwslt14.sh`` downloads into ``<data_dir>/iwslt14/orig/``, extract it, and prepare it
natively (``data.iwslt14.prepare``) into ``<data_dir>/iwslt14/iwslt14.tokenized.de-en/``. ``check``
counts the prepared lines against fairseq's split sizes (160,239 / 7,283 / 6,750). The binarized
cache is built by the first training run (``data.translation.corpus.load_corpus``)."""

from __future__ import annotations

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
    for split in files.SPLIT_SIZES:
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
    found = " / ".join(f"{sizes[split]:,}" for split in files.SPLIT_SIZES)
    if sizes != files.SPLIT_SIZES:
        expected = " / ".join(f"{size:,}" for size in files.SPLIT_SIZES.values())
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


def extract(archive: Path) -> Path:
    """Unpack the archive next to itself; the ``de-en/`` folder."""
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(archive.parent, filter="data")
    except tarfile.TarError as error:
        raise ValueError(f"{archive} is not a readable tar archive ({error}): delete it") from None
    folder = archive.parent / "de-en"
    if not folder.is_dir():
        raise ValueError(f"{archive} has no de-en/ folder: it is not fairseq's IWSLT'14 archive")
    return folder


def download(data_dir: Path, url: str = files.ARCHIVE_URL, workers: int | None = None) -> None:
    """Fetch, extract and prepare (skipped when the prepared files are already there)."""
    prepared = files.prepared_dir(data_dir)
    if all(
        (prepared / f"{s}.{lang}").is_file() for s in files.SPLIT_SIZES for lang in ("de", "en")
    ):
        return
    from data.iwslt14.prepare import prepare

    folder = extract(fetch_archive(Path(data_dir), url))
    prepare(folder, prepared, workers or default_workers())
