"""WMT'16 En-De from the hub's parquet files, prepared as the Scaling-NMT data was
(google/seq2seq ``bin/data/wmt16_en_de.sh``, the script behind the archive fairseq trains on):

1. raw text: ``wmt/wmt16`` ``de-en`` train, ``wmt/wmt14`` ``de-en`` validation (newstest2013) and
   test (newstest2014), each row's ``translation`` struct; a newline inside a sentence becomes a
   space so the files stay line-aligned;
2. Moses tokenization per language (``tokenizer.perl -q -l <lang>``, escaping on);
3. the training pairs cleaned to 1-80 tokens (``clean-corpus-n.perl ... 1 80``, default ratio 9);
   the test sets are not cleaned;
4. joint BPE: 32,000 merges learned on ``train.tok.clean.de`` followed by ``.en``, applied to the
   cleaned training text and the tokenized test sets.

The output has the archive's file names (``train.tok.clean.bpe.32000.{en,de}``,
``newstest201{3,4}.tok.bpe.32000.{en,de}``, codes ``bpe.32000``), so both sources load alike. The
parquet files are read with pyarrow (the reader ``datasets`` itself uses), streaming, without
another on-disk copy; ``download`` fetches them with ``huggingface_hub.snapshot_download``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq

from data import DataUnavailable
from data.translation.preparation import (
    apply_bpe,
    clean_corpus,
    learn_bpe,
    read_lines,
    tokenize_lines,
    write_lines,
)
from data.wmt16 import files

CLEAN_MIN, CLEAN_MAX = 1, 80
LINE_BREAKS = re.compile(r"[\r\n]+")
RAW_NAMES = {"train": "train", "valid": "newstest2013", "test": "newstest2014"}


def parquet_files(data_dir: Path, split: str) -> list[Path]:
    """The parquet shards of ``split`` (``train``, ``valid``, ``test``) under the hub folder."""
    repo, hub_split = files.HUB_REPOS[split]
    folder = files.hub_dir(data_dir) / repo.split("/")[1] / files.HUB_CONFIG
    found = sorted(folder.glob(f"{hub_split}-*.parquet"))
    if not found:
        raise DataUnavailable(
            f"no {folder}/{hub_split}-*.parquet ({repo} {files.HUB_CONFIG} {hub_split}); run "
            f"`{files.prepare_command(data_dir, 'hub')}`"
        )
    return found


def read_pairs(paths: list[Path]) -> Iterator[dict[str, str]]:
    """The ``translation`` rows ({"de": ..., "en": ...}) of parquet shards, in order."""
    for path in paths:
        for batch in pq.ParquetFile(path).iter_batches(columns=["translation"], batch_size=8192):
            for row in batch.column(0).to_pylist():
                yield {lang: LINE_BREAKS.sub(" ", row[lang]) for lang in files.LANGUAGES}


def export_raw(data_dir: Path, out: Path) -> dict[str, int]:
    """Raw one-sentence-per-line files ``<name>.<lang>`` of every split; the pair counts."""
    counts = {}
    for split, name in RAW_NAMES.items():
        paths = parquet_files(data_dir, split)
        handles = {lang: (out / f"{name}.{lang}").open("w", encoding="utf-8")
                   for lang in files.LANGUAGES}  # fmt: skip
        count = 0
        try:
            for pair in read_pairs(paths):
                for lang, handle in handles.items():
                    handle.write(pair[lang] + "\n")
                count += 1
        finally:
            for handle in handles.values():
                handle.close()
        counts[split] = count
    return counts


def prepare(data_dir: Path, workers: int = 1) -> dict[str, int]:
    """Run the preparation into ``files.prepared_dir(data_dir, "hub")``; pairs per split."""
    out = files.prepared_dir(data_dir, "hub")
    out.mkdir(parents=True, exist_ok=True)
    export_raw(data_dir, out)
    for name in RAW_NAMES.values():
        for lang in files.LANGUAGES:
            raw = read_lines(out / f"{name}.{lang}")
            write_lines(out / f"{name}.tok.{lang}", tokenize_lines(raw, lang, workers))
    cleaned = clean_corpus(
        read_lines(out / "train.tok.de"), read_lines(out / "train.tok.en"), CLEAN_MIN, CLEAN_MAX
    )
    with (
        (out / "train.tok.clean.de").open("w", encoding="utf-8") as de,
        (out / "train.tok.clean.en").open("w", encoding="utf-8") as en,
    ):
        for f, e in cleaned:
            de.write(f + "\n")
            en.write(e + "\n")
    codes = out / f"bpe.{files.BPE_MERGES}"
    learn_bpe(
        [out / "train.tok.clean.de", out / "train.tok.clean.en"], codes, files.BPE_MERGES, out
    )
    inputs = {"train": "train.tok.clean", "valid": "newstest2013.tok", "test": "newstest2014.tok"}
    counts = {}
    for split, stem in inputs.items():
        for lang in files.LANGUAGES:
            segmented = apply_bpe(codes, read_lines(out / f"{stem}.{lang}"), workers)
            counts[split] = write_lines(out / f"{files.PREFIXES[split]}.{lang}", segmented)
    return counts


def snapshot(data_dir: Path) -> None:
    """Fetch the parquet shards the preparation reads (network; huggingface_hub)."""
    from huggingface_hub import snapshot_download

    for repo, pattern in (("wmt/wmt16", "train-*"), ("wmt/wmt14", "validation-*"),
                          ("wmt/wmt14", "test-*")):  # fmt: skip
        snapshot_download(
            repo_id=repo,
            repo_type="dataset",
            allow_patterns=[f"{files.HUB_CONFIG}/{pattern}"],
            local_dir=files.hub_dir(data_dir) / repo.split("/")[1],
        )
