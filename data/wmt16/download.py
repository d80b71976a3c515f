"""``python -m scripts.download_data wmt16``: use a local copy of the Scaling-NMT files when it
is there (``<data_dir>/wmt16/wmt16_en_de_bpe32k/``, nothing to download), else fetch the hub's
parquet files and prepare them natively (``data.wmt16.hub``). ``check`` counts each present
source's lines (newstest2013: 3,000 pairs, newstest2014: 3,003). The binarized cache is built by
the first training run (``data.translation.corpus.load_corpus``)."""

from __future__ import annotations

from pathlib import Path

from data import DataUnavailable
from data.translation.preparation import default_workers
from data.wmt16 import files


def _sizes(data_dir: Path, source: str) -> dict[str, int] | None:
    """Pairs per split of a prepared source; None when a file is missing."""
    folder = files.prepared_dir(data_dir, source)
    sizes = {}
    for split, prefix in files.PREFIXES.items():
        counts = []
        for lang in files.LANGUAGES:
            path = folder / f"{prefix}.{lang}"
            if not path.is_file():
                return None
            with path.open("rb") as stream:
                counts.append(sum(1 for _ in stream))
        if counts[0] != counts[1]:
            raise ValueError(f"{folder}/{prefix}.en has {counts[0]} lines but .de {counts[1]}")
        sizes[split] = counts[0]
    return sizes


def check(data_dir: Path) -> str:
    reports = []
    for source in files.SOURCES:
        sizes = _sizes(data_dir, source)
        if sizes is None:
            continue
        folder = files.prepared_dir(data_dir, source)
        for split, expected in files.RELEASE_PAIRS.items():
            if sizes[split] != expected:
                name = files.VALID_SET if split == "valid" else files.TEST_SET
                raise ValueError(
                    f"{folder}: {files.PREFIXES[split]} has {sizes[split]:,} pairs, but "
                    f"{name} has {expected:,}"
                )
        reports.append(
            f"WMT'16 En-De ({source}) in {folder}: {sizes['train']:,} training pairs, "
            f"{sizes['valid']:,} newstest2013, {sizes['test']:,} newstest2014"
        )
    if not reports:
        raise DataUnavailable(
            f"WMT'16 En-De is not prepared: neither {files.prepared_dir(data_dir, 'files')} "
            f"(the Scaling-NMT files) nor {files.prepared_dir(data_dir, 'hub')}; "
            f"{files.prepare_command(data_dir, 'files')}, or run "
            f"`{files.prepare_command(data_dir, 'hub')}`"
        )
    return "; ".join(reports)


def download(data_dir: Path, workers: int | None = None) -> None:
    """Nothing when a source is prepared; else the hub's parquet files, prepared natively."""
    if any(_sizes(data_dir, source) is not None for source in files.SOURCES):
        return
    from data.wmt16 import hub

    hub.snapshot(Path(data_dir))
    hub.prepare(Path(data_dir), workers or default_workers())
