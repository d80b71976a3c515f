"""``python -m scripts.download_data ptb``: Mikolov's ``simple-examples.tgz`` (the release that
AWD-LSTM's ``getdata.sh`` fetches), its three ``data/ptb.*.txt`` files extracted into
``<data_dir>/ptb/``; then a check of line and token counts against the release."""

from __future__ import annotations

import tarfile
import tempfile
import urllib.request
from pathlib import Path

from data.ptb import files

URL = "http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz"


def download(data_dir: Path) -> None:
    target = Path(data_dir) / files.FOLDERS[0]
    if all((target / files.file_name(split)).is_file() for split in files.SPLITS):
        return
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "simple-examples.tgz"
        try:
            urllib.request.urlretrieve(URL, archive)
            with tarfile.open(archive) as tar:
                texts = {}
                for split in files.SPLITS:
                    member = tar.getmember(f"./simple-examples/data/{files.file_name(split)}")
                    source = tar.extractfile(member)
                    if source is None:
                        raise OSError(f"{URL} has no {member.name}")
                    texts[split] = source.read()
        except (OSError, tarfile.TarError, KeyError) as error:
            raise OSError(f"could not download {URL} into {target}: {error}") from None
    for split, text in texts.items():
        (target / files.file_name(split)).write_bytes(text)


def check(data_dir: Path) -> str:
    """A line when the files match the release's counts; ``DataUnavailable`` when missing,
    ``ValueError`` when they differ."""
    ptb = files.load_ptb(data_dir)
    wrong = files.release_differences(ptb)
    if wrong:
        raise ValueError(
            f"Penn Treebank in {ptb.folder} differs from Mikolov's release: " + "; ".join(wrong)
        )
    tokens = {split: len(ptb.ids[split]) for split in files.SPLITS}
    return (
        f"Penn Treebank in {ptb.folder}: {tokens['train']:,} / {tokens['valid']:,} / "
        f"{tokens['test']:,} tokens and {len(ptb.vocabulary):,} words, as Mikolov's release"
    )
