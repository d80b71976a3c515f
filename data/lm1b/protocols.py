"""The two evaluation protocols of One Billion Word, as (offset, length) spans of the held-out ids.

- ``radam_code`` (the default; the RAdam repository's ``language-model/train_1bw.py``, which
  produced the paper's 36.92 / 35.70): no validation split; ``test`` is the whole held-out folder,
  its 50 shards concatenated into one stream (``encode_data2folder.py``).
- ``benchmark`` (Chelba et al. 2013): ``test`` is the single shard
  ``news.en.heldout-00000-of-00050`` and ``val`` another held-out shard,
  ``news.en.heldout-00001-of-00050``. Only the r13 folders name their held-out shards.
"""

from __future__ import annotations

from data import DataUnavailable
from data.lm1b.cache import TokenCorpus

PROTOCOLS = ("radam_code", "benchmark")
BENCHMARK_SHARDS = {
    "val": "news.en.heldout-00001-of-00050",
    "test": "news.en.heldout-00000-of-00050",
}


def evaluation_spans(corpus: TokenCorpus, protocol: str) -> dict[str, tuple[int, int]]:
    """``{split: (offset, length)}`` into ``corpus.heldout`` for ``protocol``, in the order the
    splits are evaluated."""
    if protocol == "radam_code":
        return {"test": (0, len(corpus.heldout))}
    if protocol != "benchmark":
        raise ValueError(f"protocol {protocol!r}: one of {', '.join(PROTOCOLS)}")
    shards = {span.name: span for span in corpus.heldout_shards}
    spans = {}
    for split, name in BENCHMARK_SHARDS.items():
        if name not in shards:
            raise DataUnavailable(
                f"task.protocol=benchmark needs the held-out shard {name} of the r13 release "
                f"(the {corpus.source} source in {corpus.path} has none: its held-out shards are "
                f"{', '.join(sorted(shards)) or 'none'})"
            )
        spans[split] = (shards[name].offset, shards[name].length)
    return spans
