"""Run records from Weights & Biases, through the public API, mapped to the same ``RunRecord``.

What the W&B mirror (``experiments/runs/wandb_mirror.py``) records: group = the sweep, tags = [task,
optimizer], name = the run directory relative to ``runs_dir``, config = the resolved config, and
at the end the summary keys ``status``, ``steps``, ``epochs``, ``time_total``, ``diverged_at``,
``final/<metric>`` and ``best/<metric>``. The run's identity (with its overrides) is read from a
config key ``identity`` when the mirror logs one, else from the run name.

``provider(path, filters)`` returns the runs; in production it is ``wandb.Api().runs``, and tests
pass recorded API responses through the very same mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from experiments.report.records import RunRecord, config_group_keys
from experiments.runs.run_name import parse_run_name

RunsProvider = Callable[[str, Mapping[str, Any] | None], Iterable[Any]]

_STATE_TO_STATUS = {
    "finished": "finished",
    "failed": "failed",
    "crashed": "interrupted",
    "killed": "interrupted",
    "preempted": "interrupted",
    "preempting": "interrupted",
    "running": "running",
    "pending": "running",
}


def wandb_api_provider(path: str, filters: Mapping[str, Any] | None) -> Iterable[Any]:
    """The real W&B public API (needs an API key and network)."""
    import wandb

    return wandb.Api().runs(path, filters=dict(filters) if filters else None, lazy=False)


def _device(run: Any, config: Mapping[str, Any]) -> str | None:
    system = dict(getattr(run, "system_metrics", None) or {})
    if any("gpu" in key.lower() for key in system):
        return "cuda"
    if system:
        return "cpu"
    device = config.get("device")
    return str(device) if device in ("cpu", "cuda") else None


def record_from_wandb(run: Any, group_keys: Sequence[str] = ()) -> RunRecord:
    """One W&B run (``wandb.apis.public.Run`` or anything with its attributes) as a record."""
    config = dict(run.config or {})
    summary = dict(run.summary_metrics or {})
    identity = config.get("identity")
    if not isinstance(identity, Mapping):
        identity = parse_run_name(run.name or "", group_keys)
        tags = list(run.tags or [])
        if not identity["task"] and len(tags) >= 2:
            identity.update(task=tags[0], optimizer=tags[1])
    task_config = config.get("task") if isinstance(config.get("task"), Mapping) else {}
    status = summary.get("status") or _STATE_TO_STATUS.get(run.state, "incomplete")

    def prefixed(prefix: str) -> dict[str, float]:
        return {k[len(prefix) :]: v for k, v in summary.items() if k.startswith(prefix)}

    best = prefixed("best/")
    return RunRecord(
        name=str(run.id),
        sweep=str(run.group or identity.get("sweep", "")),
        task=str(identity.get("task", "")),
        optimizer=str(identity.get("optimizer", "")),
        seed=identity.get("seed", config.get("seed")),
        overrides={str(k): str(v) for k, v in (identity.get("overrides") or {}).items()},
        status=str(status),
        source="wandb",
        setting=identity.get("setting"),
        headline=task_config.get("headline"),
        final=prefixed("final/"),
        best=best,
        best_epoch=dict.fromkeys(best),
        at_best=prefixed("at_best/"),
        steps=summary.get("steps"),
        epochs=summary.get("epochs"),
        time_total=summary.get("time_total"),
        diverged_at=summary.get("diverged_at"),
        device=_device(run, config),
        config=config,
        history=getattr(run, "scan_history", None),
    )


def load_wandb_runs(
    path: str, groups: Sequence[str] = (), provider: RunsProvider | None = None
) -> list[RunRecord]:
    """Every run of the W&B project ``path`` (``entity/project``), or of its ``groups``."""
    provider = provider or wandb_api_provider
    group_keys = config_group_keys()
    queries = [{"group": group} for group in groups] or [None]
    records: list[RunRecord] = []
    for filters in queries:
        records.extend(record_from_wandb(run, group_keys) for run in provider(path, filters))
    return records
