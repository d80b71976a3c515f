"""The trial's cases: every raw file and every cache member of each corpus damaged each way, and
the cases of a whole split or directory; with each case, the outcomes the suite promises for it
(the promises listed in docs/architecture.md, "Data").

Outcomes (``trial.classify``): ``refused`` (exit 2, one line on stderr, no ``failed`` run
directory), ``rebuilt`` (exit 0, a line the reference run did not print, the reference's
metrics), ``changed`` (exit 0, a line the reference did not print, other metrics: a changed raw
corpus, accepted and said), ``same`` (exit 0, the reference's metrics, nothing said), ``wrong``
(exit 0, other metrics, nothing said: the worst), ``traceback`` (anything else).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from experiments.data_faults.corpora import TinyCorpus

TEXT_SUFFIXES = (".txt", ".json")
"""The cache members that are text (the dictionaries, the vocabulary, the manifest)."""
RAW_PROMISES = {
    "overwritten": ("refused", "changed"),
    "truncated": ("refused", "changed"),
    "deleted": ("refused", "changed", "same"),
    "unreadable": ("refused", "same"),
    "non-utf8": ("refused",),
}
"""A raw file deleted or unreadable beside a whole cache may go unnoticed: the cache alone trains
(as fairseq's data-bin does), to the reference's metrics."""
CACHE_PROMISES = ("refused", "rebuilt")


@dataclass(frozen=True)
class Case:
    corpus: str
    kind: str
    """A key of ``damage.FILE_DAMAGE``, or ``empty-eval``, ``read-only``, ``kill-replace``."""
    target: str
    """The damaged file (relative to ``data_dir``), or the split or folder the case names."""
    promised: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.corpus}: {self.target} {self.kind}"


def _is_text(name: str) -> bool:
    return name.endswith(TEXT_SUFFIXES)


def cases_of(corpus: TinyCorpus, data_dir: Path) -> list[Case]:
    """Every case of ``corpus``, whose reference ``data_dir`` holds its raw files and cache."""
    cases = []
    for name in corpus.raw_files(data_dir):
        for kind, promised in RAW_PROMISES.items():
            cases.append(Case(corpus.name, kind, name, promised))
    for name in corpus.cache_members(data_dir):
        kinds = ["overwritten", "truncated", "deleted", "unreadable"]
        kinds += ["non-utf8"] if _is_text(name) else []
        kinds += ["list"] if name.endswith("manifest.json") else []
        cases += [Case(corpus.name, kind, name, CACHE_PROMISES) for kind in kinds]
    cases.append(Case(corpus.name, "empty-eval", " and ".join(corpus.evaluation_files),
                      ("refused",)))  # fmt: skip
    read_only = ("same",) if corpus.cache_folder is None else ("refused",)
    cases.append(Case(corpus.name, "read-only", "data_dir without a cache", read_only))
    cases.append(Case(corpus.name, "kill-replace", corpus.train_file, ("refused",)))
    return cases
