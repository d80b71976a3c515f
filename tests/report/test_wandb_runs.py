"""The W&B source on a recorded public-API response: each recorded node becomes a real
``wandb.apis.public.Run`` (as ``wandb.Api().runs`` builds them) and goes through the same mapping
and tables as local runs."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from wandb.apis.public.runs import Run

from experiments.report.local_runs import load_local_runs
from experiments.report.pipeline import make_tables
from experiments.report.reference import load_references
from experiments.report.render_tables import Context
from experiments.report.sources import RunsUnavailable, load_runs
from experiments.report.wandb_runs import load_wandb_runs
from tests.report.fixture_paths import FIXTURE_REFERENCE, FIXTURE_RUNS, RECORDED_WANDB_RESPONSE

PROJECT = "fixture-entity/optrepro"


def recorded_provider(path: str, filters: dict | None) -> list[Run]:
    """What ``wandb.Api().runs(path, filters=filters, lazy=False)`` returned when recorded."""
    assert path == PROJECT and filters == {"group": "fixture"}
    entity, project = path.split("/")
    edges = json.loads(RECORDED_WANDB_RESPONSE.read_text())["project"]["runs"]["edges"]
    return [Run(None, entity, project, e["node"]["name"], e["node"], lazy=False) for e in edges]


@pytest.fixture(scope="module")
def records():
    """The recorded response holds no history: a ``Run`` built from it would ask the network
    for one (``scan_history``), so the records carry none."""
    loaded = load_wandb_runs(PROJECT, ["fixture"], recorded_provider)
    return {r.name: replace(r, history=None) for r in loaded}


def test_identity_status_and_metrics_match_the_local_runs(records) -> None:
    local = {
        (r.optimizer, r.overrides.get("optimizer.lr"), r.seed): r
        for r in load_local_runs(FIXTURE_RUNS)
    }
    compared = 0
    for record in records.values():
        if "schedule/warmup" in record.overrides or record.status == "interrupted":
            continue
        twin = local[(record.optimizer, record.overrides["optimizer.lr"], record.seed)]
        assert (record.sweep, record.task, record.status) == (twin.sweep, twin.task, twin.status)
        assert record.final == twin.final and record.best == twin.best
        assert record.headline == "test/acc" and record.source == "wandb"
        compared += 1
    assert compared == 7


def test_states_devices_and_group_keys(records) -> None:
    assert records["m9s3d7pa"].status == "interrupted"  # crashed before the mirror's summary
    assert records["a5f1h3yu"].device == "cuda"  # GPU system metrics
    assert records["k3x9a1bq"].device == "cpu"
    warmup = records["n6b2c8dv"]  # the run name wrote schedule/warmup as schedule_warmup
    assert warmup.overrides == {"optimizer.lr": "0.001", "schedule/warmup": "linear"}


def test_tables_from_wandb_equal_tables_from_local_runs(records, tmp_path: Path) -> None:
    references = load_references(FIXTURE_REFERENCE)
    context = Context("python -m scripts.make_tables --source wandb")
    remote = make_tables(records.values(), references, tmp_path / "w", context, figures=False)
    local = make_tables(
        load_local_runs(FIXTURE_RUNS), references, tmp_path / "l", context, figures=False
    )
    by_id = {c.entry.id: c for t in local.tables for c in t.cells}
    for cell in (c for t in remote.tables for c in t.cells if c.entry.id in ("sgd.val", "adam")):
        assert cell.summary == by_id[cell.entry.id].summary
        assert cell.verdict == by_id[cell.entry.id].verdict
    text = (tmp_path / "w" / "fixture" / "digits.md").read_text()
    assert "k3x9a1bq" in text  # cells list W&B run ids


def test_an_unreadable_project_is_reported_as_such() -> None:
    def offline(path: str, filters: dict | None) -> list[Run]:
        raise ConnectionError("no route to api.wandb.ai")

    with pytest.raises(RunsUnavailable, match="fixture-entity/optrepro.*no route"):
        load_runs("wandb", PROJECT, ["fixture"], offline)
