"""All runs as one tidy table (a row per run) for one's own analysis: CSV and Parquet.

Columns: identity (``run``, ``source``, ``sweep``, ``task``, ``optimizer``, ``seed``), the
scientific overrides (``overrides`` as JSON, and one ``hp.<key>`` column per key), ``status``,
the headline metric, cost (``steps``, ``epochs``, ``time_total``, ``time_optimizer``,
``peak_memory_bytes``, ``device``), ``diverged_at`` and ``error``, every metric at the last
evaluation (``final.<metric>``), at its best (``best.<metric>``) with the epoch of that best
(``best_epoch.<metric>``), at the evaluation where the selection metric was best
(``at_best.<metric>``), and the resolved config flattened (``config.<dotted key>``; local runs
read ``config.yaml``, W&B runs their config).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from experiments.report.records import RunRecord

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys; lists as JSON text (one cell each)."""
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping):
            flat.update(flatten(item, f"{name}."))
        elif isinstance(item, list | tuple):
            flat[name] = json.dumps(item)
        else:
            flat[name] = item
    return flat


def _config(record: RunRecord) -> dict[str, Any]:
    if record.config is not None:
        return record.config
    if record.path is None:
        return {}
    try:
        loaded = yaml.load((record.path / "config.yaml").read_text(), Loader=_Loader)
    except (OSError, yaml.YAMLError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def run_row(record: RunRecord, with_config: bool = True) -> dict[str, Any]:
    row: dict[str, Any] = {
        "run": record.name,
        "source": record.source,
        "sweep": record.sweep,
        "task": record.task,
        "optimizer": record.optimizer,
        "seed": record.seed,
        "overrides": json.dumps(record.overrides, sort_keys=True),
        **{f"hp.{key}": value for key, value in sorted(record.overrides.items())},
        "status": record.status,
        "headline_metric": record.headline,
        "steps": record.steps,
        "epochs": record.epochs,
        "time_total": record.time_total,
        "time_optimizer": record.time_optimizer,
        "peak_memory_bytes": record.peak_memory_bytes,
        "device": record.device_type(),
        "diverged_at": record.diverged_at,
        "error": record.error,
        **{f"final.{key}": value for key, value in sorted(record.final.items())},
        **{f"best.{key}": value for key, value in sorted(record.best.items())},
        **{f"best_epoch.{key}": value for key, value in sorted(record.best_epoch.items())},
        **{f"at_best.{key}": value for key, value in sorted(record.at_best.items())},
    }
    if with_config:
        row.update(flatten(_config(record), "config."))
    return row


def _tidy_column(column: pd.Series) -> pd.Series:
    """Numbers as numbers where every value parses; otherwise text where types are mixed (so
    Parquet can store the column)."""
    values = column.dropna()
    if values.empty or not (column.dtype == object or pd.api.types.is_string_dtype(column)):
        return column
    try:
        return pd.to_numeric(column)
    except (TypeError, ValueError):
        pass
    if len({type(value) for value in values}) > 1:
        return column.map(lambda value: value if value is None or pd.isna(value) else str(value))
    return column


def runs_frame(records: Iterable[RunRecord], with_config: bool = True) -> pd.DataFrame:
    frame = pd.DataFrame.from_records([run_row(record, with_config) for record in records])
    for name in frame.columns:
        if name not in ("run", "seed", "status"):
            frame[name] = _tidy_column(frame[name])
    return frame


def write_export(frame: pd.DataFrame, stem: Path) -> list[Path]:
    """``<stem>.csv`` and ``<stem>.parquet``."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    csv_path, parquet_path = (
        stem.with_name(stem.name + ".csv"),
        stem.with_name(stem.name + ".parquet"),
    )
    frame.to_csv(csv_path, index=False)
    frame.to_parquet(parquet_path, index=False)
    return [csv_path, parquet_path]
