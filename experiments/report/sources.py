"""Where runs come from: a local runs directory or a W&B project, behind one call."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from experiments.report.local_runs import load_local_runs
from experiments.report.records import RunRecord
from experiments.report.wandb_runs import RunsProvider, load_wandb_runs


class RunsUnavailable(Exception):
    """The runs cannot be read (no such directory; W&B without a key, network or project)."""


def load_runs(
    source: str, location: str, groups: Sequence[str] = (), provider: RunsProvider | None = None
) -> list[RunRecord]:
    """``source`` local: ``location`` is a runs directory; wandb: ``ENTITY/PROJECT``."""
    if source == "local":
        try:
            return load_local_runs(Path(location))
        except FileNotFoundError as error:
            raise RunsUnavailable(str(error)) from None
    try:
        return load_wandb_runs(location, groups, provider)
    except Exception as error:  # noqa: BLE001 - W&B raises many types; all mean "cannot read"
        raise RunsUnavailable(
            f"cannot read W&B project {location!r}: {type(error).__name__}: {error}"
        ) from None
