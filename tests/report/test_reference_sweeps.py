"""Every reference entry recognises the runs its sweep files launch: each existing sweep is
expanded (one seed) with ``scripts.sweep_plan`` — the launcher's own composition — and the
planned runs must contain a candidate setting of every entry that names that sweep."""

from __future__ import annotations

from pathlib import Path

import pytest

from experiments.report.grouping import group_runs, index_by_task_optimizer, match_entry
from experiments.report.records import RunRecord
from experiments.report.reference import load_references
from experiments.sweeps.plan import plan_sweep

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENTRIES = [
    entry
    for reference in load_references().values()
    for entry in reference.entries
    if any((PROJECT_ROOT / sweep).exists() for sweep in entry.sweeps)
]


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[RunRecord]]:
    runs_dir = tmp_path_factory.mktemp("planned")
    sweeps = sorted({s for entry in ENTRIES for s in entry.sweeps if (PROJECT_ROOT / s).exists()})
    found = {}
    for sweep in sweeps:
        name = sweep.removeprefix("configs/paper/").removesuffix(".yaml")
        plan = plan_sweep([f"+paper={name}", "seed=1", f"runs_dir={runs_dir}"])
        found[sweep] = [
            RunRecord(
                str(run.path),
                plan.sweep,
                run.task,
                run.optimizer,
                run.seed,
                run.overrides,
                "finished",
            )  # fmt: skip
            for run in plan.runs
        ]
    return found


def test_image_task_entries_have_sweeps() -> None:
    assert {e.task for e in ENTRIES} >= {"cifar10_resnet20", "imagenet_resnet18",
                                          "cifar10_resnet34", "cifar10_densenet121",
                                          "cifar10_lenet5"}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e.paper}:{e.id}")
def test_entry_matches_runs_of_its_sweeps(entry, planned) -> None:
    runs = [run for sweep in entry.sweeps for run in planned.get(sweep, [])]
    index = index_by_task_optimizer(group_runs(runs))
    candidates, _ = match_entry(entry, index.get((entry.task, entry.optimizer), []))
    assert candidates, f"no run of {entry.sweeps} is a {entry.task} × {entry.optimizer} setting"
