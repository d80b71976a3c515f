"""``python -m scripts.download_data lm1b``: the hub's parquet copy of One Billion Word
(``billion-word-benchmark/lm1b`` at revision ``refs/convert/parquet``) into
``<data_dir>/lm1b-parquet/``, unless the r13 release folders or that copy are already there;
then a check of what each split holds, by sentence count, against the release."""

from __future__ import annotations

from pathlib import Path

from data.lm1b import files


def _present(data_dir: Path) -> bool:
    release = files.release_root(data_dir) / files.TRAIN_FOLDER
    if release.is_dir() and any(release.glob(files.TRAIN_GLOB)):
        return True
    root = files.parquet_root(data_dir)
    return bool(files.parquet_files(root, "train") and files.parquet_files(root, "test"))


def download(data_dir: Path) -> None:
    """Fetch the parquet snapshot (≈ 3 GB; ``huggingface_hub``) when no source is present; an
    ``OSError`` with one line when the hub cannot be reached."""
    if _present(data_dir):
        return
    from huggingface_hub import snapshot_download

    target = files.parquet_root(data_dir)
    try:
        snapshot_download(
            repo_id=files.HUB_REPO,
            repo_type="dataset",
            revision=files.HUB_REVISION,
            local_dir=target,
            allow_patterns=["*/train/*.parquet", "*/test/*.parquet"],
        )
    except Exception as error:  # noqa: BLE001 - the hub client raises many types; one line
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise OSError(
            f"could not download {files.HUB_REPO} (revision {files.HUB_REVISION}) into {target}: "
            f"{first}"
        ) from None


def _count_lines(path: Path) -> int:
    lines = 0
    with open(path, "rb") as stream:
        while block := stream.read(1 << 22):
            lines += block.count(b"\n")
    return lines


def check(data_dir: Path) -> str:
    """A line naming the source and its splits' sentence counts; ``DataUnavailable`` when no
    source is present, ``ValueError`` when the counts differ from the release."""
    corpus = files.find_corpus(data_dir)
    if corpus.source == "r13":
        train_files = sorted((corpus.root / files.TRAIN_FOLDER).glob(files.TRAIN_GLOB))
        heldout_files = sorted((corpus.root / files.HELDOUT_FOLDER).glob(files.HELDOUT_GLOB))
        found = {
            "train": sum(_count_lines(p) for p in train_files),
            "heldout": sum(_count_lines(p) for p in heldout_files),
        }
        shards = {"train": len(train_files), "heldout": len(heldout_files)}
        meaning = "test = all 50 held-out shards (RAdam code) or heldout-00000 (benchmark)"
    else:
        found = {
            "train": files.parquet_rows(files.parquet_files(corpus.root, "train")),
            "heldout": files.parquet_rows(files.parquet_files(corpus.root, "test")),
        }
        shards = dict(files.RELEASE_SHARDS)
        meaning = "its test split is all 50 held-out shards (the RAdam code's test set)"
    wrong = [
        f"{split} {found[split]:,} sentences in {shards[split]} shards (the release: "
        f"{files.RELEASE_SENTENCES[split]:,} in {files.RELEASE_SHARDS[split]})"
        for split in ("train", "heldout")
        if found[split] != files.RELEASE_SENTENCES[split]
        or shards[split] != files.RELEASE_SHARDS[split]
    ]
    if wrong:
        raise ValueError(
            f"One Billion Word ({corpus.source}) in {corpus.root} differs from the r13 release: "
            + "; ".join(wrong)
        )
    return (
        f"One Billion Word ({corpus.source}) in {corpus.root}: {found['train']:,} training and "
        f"{found['heldout']:,} held-out sentences, as the r13 release; {meaning}"
    )
