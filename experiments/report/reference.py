"""The papers' printed numbers as data: ``results/reference/<name>.yaml``.

A file holds ``paper`` (optional: the output folder it shares with the paper's other files, e.g.
``radam_lm.yaml`` and ``radam_nmt.yaml`` beside ``radam.yaml``; default: the file's stem),
``tables`` (how each output table is titled and plotted), ``entries`` (one published
number each: which runs it means, how the paper measured and selected it, the value, its ± and a
tolerance), ``claims`` (pairwise "A beats B" statements between two entries of the file) and
``lr_robustness`` ("A varies less across learning rates than B", RAdam Fig. 6: two entries
selected over ``optimizer.lr``; ``experiments/report/lr_robustness.py``).
Entries of one file may be second references for entries of another (``second_reference_for``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from experiments.report.records import STATISTICS

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "results" / "reference"
SPLITS = ("val", "test")
_REQUIRED = (
    "id paper in_paper table label task optimizer metric statistic select sweeps tolerance".split()
)


class ReferenceError(ValueError):
    """A reference file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Entry:
    id: str
    paper: str
    in_paper: str
    """The table or figure of the paper the number was printed in."""
    table: str
    """The output table this entry is a row of."""
    label: str
    task: str
    optimizer: str
    metric: str
    value: float | None
    """The published number; None for a row of one's own benchmark (no paper value)."""
    statistic: str
    """``final`` (last evaluation), ``best_epoch`` (best evaluation over training) or
    ``at_best`` (the value at the evaluation where the task's selection metric was best)."""
    select_over: tuple[str, ...]
    """Override keys whose best setting is chosen over the grid (empty: one fixed setting)."""
    select_split: str
    """The split on which the best setting is chosen: ``val`` or ``test``."""
    sweeps: tuple[str, ...]
    tolerance: float
    overrides: Mapping[str, str] = field(default_factory=dict)
    pm: float | None = None
    seeds: int = 3
    """Seeds the sweep runs per setting; fewer run directories are counted as missing."""
    notes: str = ""
    second_reference_for: tuple[str, ...] = ()

    @property
    def sweep_names(self) -> tuple[str, ...]:
        """The ``sweep`` names the entry's sweep files give their runs (``configs/paper/a/b.yaml``
        → its ``sweep:`` value, ``a/b`` when the file is not there)."""
        return tuple(sweep_name(path) for path in self.sweeps)


@dataclass(frozen=True)
class MatchedEpochs:
    """A claim whose two reference numbers come from runs of different lengths is compared at
    the shorter one's last epoch: the reference's own values there, and ours read from each
    run's ``metrics.jsonl`` up to that epoch."""

    epochs: float
    better: float
    """The better side's reference value at ``epochs`` (its best up to there)."""
    worse: float
    source: str = ""


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    better: str
    """Entry id of the side the paper says is better."""
    worse: str
    notes: str = ""
    matched: MatchedEpochs | None = None


@dataclass(frozen=True)
class TableSpec:
    name: str
    title: str
    curves: tuple[str, ...] = ("train/loss",)
    """Metrics of the learning-curve figure (besides each entry's own metric)."""
    log_y: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReferenceSet:
    name: str
    """The file's stem: ``<name>:<entry id>`` names an entry across files."""
    citation: str
    tables: Mapping[str, TableSpec]
    entries: tuple[Entry, ...]
    claims: tuple[Claim, ...]
    path: Path
    paper: str = ""
    """The output folder (``results/<paper>/``); files of one paper and several task families
    share it."""
    robustness: tuple[Claim, ...] = ()
    """``lr_robustness``: "``better`` varies less across learning rates than ``worse``", each
    side an entry selected over ``optimizer.lr`` (its candidates are the lr grid)."""

    @property
    def claims_stem(self) -> str:
        """``claims``, or ``claims_<family>`` for a file ``<paper>_<family>.yaml``."""
        if self.name == self.paper:
            return "claims"
        return "claims_" + self.name.removeprefix(self.paper + "_")

    def table_entries(self, table: str) -> list[Entry]:
        return [entry for entry in self.entries if entry.table == table]


@functools.lru_cache(maxsize=256)
def sweep_name(path: str) -> str:
    """The sweep name a paper sweep file gives its runs (its ``sweep:`` key)."""
    file = REFERENCE_DIR.parents[1] / path
    try:
        raw = yaml.safe_load(file.read_text())
    except (OSError, yaml.YAMLError):
        raw = None
    if isinstance(raw, dict) and isinstance(raw.get("sweep"), str):
        return raw["sweep"]
    return str(Path(path).with_suffix("")).removeprefix("configs/paper/")


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(item) for item in value)


def _entry(raw: Mapping[str, Any], where: str) -> Entry:
    missing = [key for key in _REQUIRED if key not in raw]
    if missing:
        raise ReferenceError(f"{where}: missing {', '.join(missing)}")
    select = raw["select"] or {}
    if raw["statistic"] not in STATISTICS:
        raise ReferenceError(f"{where}: statistic must be one of {STATISTICS}")
    if select.get("split") not in SPLITS:
        raise ReferenceError(f"{where}: select.split must be one of {SPLITS}")
    overrides = raw.get("overrides") or {}
    return Entry(
        id=str(raw["id"]),
        paper=str(raw["paper"]),
        in_paper=str(raw["in_paper"]),
        table=str(raw["table"]),
        label=str(raw["label"]),
        task=str(raw["task"]),
        optimizer=str(raw["optimizer"]),
        metric=str(raw["metric"]),
        value=None if raw.get("value") is None else float(raw["value"]),
        statistic=str(raw["statistic"]),
        select_over=_strings(select.get("over")),
        select_split=str(select["split"]),
        sweeps=_strings(raw["sweeps"]),
        tolerance=float(raw["tolerance"]),
        overrides={str(k): str(v) for k, v in overrides.items()},
        pm=None if raw.get("pm") is None else float(raw["pm"]),
        seeds=int(raw.get("seeds", 3)),
        notes=str(raw.get("notes") or "").strip(),
        second_reference_for=_strings(raw.get("second_reference_for")),
    )


def load_reference(path: Path) -> ReferenceSet:
    """Read and check one reference file."""
    raw = yaml.safe_load(Path(path).read_text())
    name = Path(path).stem
    tables = {
        key: TableSpec(
            name=key,
            title=str(spec.get("title", key)),
            curves=_strings(spec.get("curves", ["train/loss"])),
            log_y=_strings(spec.get("log_y")),
        )
        for key, spec in (raw.get("tables") or {}).items()
    }
    entries = tuple(
        _entry(item, f"{path}: entry {item.get('id', index)}")
        for index, item in enumerate(raw.get("entries") or [])
    )
    ids = [entry.id for entry in entries]
    if len(set(ids)) != len(ids):
        raise ReferenceError(f"{path}: duplicate entry ids")
    for entry in entries:
        if entry.table not in tables:
            raise ReferenceError(f"{path}: entry {entry.id} names unknown table {entry.table!r}")
    claims = [_claim(item, path, ids) for item in raw.get("claims") or []]
    robustness = [_claim(item, path, ids) for item in raw.get("lr_robustness") or []]
    for claim in robustness:
        for side in (claim.better, claim.worse):
            if "optimizer.lr" not in entries[ids.index(side)].select_over:
                raise ReferenceError(
                    f"{path}: lr_robustness {claim.id}: entry {side} is not selected over "
                    "optimizer.lr"
                )
    paper = str(raw.get("paper") or name)
    return ReferenceSet(
        name, str(raw.get("citation", "")), tables, entries, tuple(claims), path, paper,
        tuple(robustness),
    )  # fmt: skip


def _claim(item: Mapping[str, Any], path: Path, ids: list[str]) -> Claim:
    claim = Claim(
        id=str(item["id"]),
        text=str(item["text"]),
        better=str(item["better"]),
        worse=str(item["worse"]),
        notes=str(item.get("notes") or "").strip(),
        matched=_matched_epochs(item.get("matched_epochs"), f"{path}: claim {item['id']}"),
    )
    for side in (claim.better, claim.worse):
        if side not in ids:
            raise ReferenceError(f"{path}: claim {claim.id} names unknown entry {side!r}")
    return claim


def load_references(directory: Path = REFERENCE_DIR) -> dict[str, ReferenceSet]:
    """Every ``*.yaml`` of ``directory``, by file stem; second references must name entries,
    and table names must be unique within a paper's output folder."""
    sets = {path.stem: load_reference(path) for path in sorted(Path(directory).glob("*.yaml"))}
    known = {qualified_id(r, e) for r in sets.values() for e in r.entries}
    owners: dict[tuple[str, str], str] = {}
    for reference in sets.values():
        for table in reference.tables:
            other = owners.setdefault((reference.paper, table), reference.name)
            if other != reference.name:
                raise ReferenceError(
                    f"{reference.path}: table {table!r} is also in {other}.yaml, and both write "
                    f"results/{reference.paper}/"
                )
    for reference in sets.values():
        for entry in reference.entries:
            for target in entry.second_reference_for:
                if target not in known:
                    raise ReferenceError(
                        f"{reference.path}: entry {entry.id}: second_reference_for names "
                        f"{target!r}, not a <file>:<entry id> of {directory}"
                    )
    return sets


def select_papers(sets: Mapping[str, ReferenceSet], wanted: Sequence[str]) -> list[str]:
    """The file stems that ``--paper`` names select: a stem, or a paper's output folder (all of
    its files). Raises ReferenceError naming what is unknown."""
    chosen: list[str] = []
    for name in wanted:
        found = [stem for stem, ref in sets.items() if name in (stem, ref.paper)]
        if not found:
            available = sorted({ref.paper for ref in sets.values()} | set(sets))
            raise ReferenceError(
                f"unknown paper {name}; available: {', '.join(available) or 'none'}"
            )
        chosen += [stem for stem in found if stem not in chosen]
    return chosen


def qualified_id(reference: ReferenceSet, entry: Entry) -> str:
    return f"{reference.name}:{entry.id}"


def second_references(sets: Sequence[ReferenceSet]) -> dict[str, list[Entry]]:
    """``<file>:<entry id>`` → the entries (of any file) that are second references for it."""
    found: dict[str, list[Entry]] = {}
    for reference in sets:
        for entry in reference.entries:
            for target in entry.second_reference_for:
                found.setdefault(target, []).append(entry)
    return found


def _matched_epochs(raw: Any, where: str) -> MatchedEpochs | None:
    if raw is None:
        return None
    try:
        return MatchedEpochs(
            float(raw["epochs"]), float(raw["better"]), float(raw["worse"]),
            str(raw.get("source") or ""),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError) as error:
        raise ReferenceError(
            f"{where}: matched_epochs needs numbers epochs, better and worse ({error})"
        ) from None
