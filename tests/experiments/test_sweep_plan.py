"""The paper sweeps (configs/paper) and ``python -m scripts.sweep_plan``.

Each paper file's header declares its number of runs; the tests count the grid independently
from the file's ``hydra.sweeper.params`` and check that Hydra's expansion (what ``-m`` launches)
has exactly that many jobs. What the planner predicts for existing run directories (skip, resume,
new) is checked against real launches in tests/experiments/test_sweeps.py.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from experiments.sweeps.expansion import compose_job, grid_overrides, sweep_expansion
from experiments.sweeps.plan import format_hours, plan_job, plan_sweep
from tests.experiments.cli import CONFIG_DIR


def sweep_plan(*arguments: str) -> subprocess.CompletedProcess[str]:
    """``python -m scripts.sweep_plan <arguments>``, the command line."""
    return subprocess.run(
        [sys.executable, "-m", "scripts.sweep_plan", *arguments],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


PAPER_DIR = CONFIG_DIR / "paper"
PAPER_SWEEPS = sorted(
    path.relative_to(PAPER_DIR).with_suffix("").as_posix() for path in PAPER_DIR.rglob("*.yaml")
)


def header(name: str) -> str:
    lines = (PAPER_DIR / f"{name}.yaml").read_text().splitlines()
    return "\n".join(line for line in lines if line.startswith("#"))


def declared_runs(name: str) -> int:
    found = re.search(r"^# Runs: (\d+)", header(name), re.MULTILINE)
    assert found is not None, f"{name}.yaml has no '# Runs: N' header line"
    return int(found[1])


def declared_gpu_hours(name: str) -> str:
    """The header's ``GPU-hours (estimate): 1.2–2.4`` (or ``GPU-hours: none ...``) value."""
    found = re.search(r"GPU-hours(?: \(estimate\))?: (\S+)", header(name))
    assert found is not None, f"{name}.yaml has no 'GPU-hours:' in its header"
    return found[1]


def count_values(text: str) -> int:
    """Values in a sweep string: commas outside brackets and quotes separate them."""
    depth, quote, count = 0, None, 1
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[({":
            depth += 1
        elif char in "])}":
            depth -= 1
        elif char == "," and depth == 0:
            count += 1
    return count


def grid_size(name: str) -> int:
    params = yaml.safe_load((PAPER_DIR / f"{name}.yaml").read_text())["hydra"]["sweeper"]["params"]
    return math.prod(count_values(str(value)) for value in params.values())


def seeds_per_setting(jobs: list[list[str]]) -> dict[tuple[str, ...], set[str]]:
    settings: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for job in jobs:
        seed = next(item for item in job if item.startswith("seed="))
        settings[tuple(sorted(item for item in job if item != seed))].add(seed)
    return settings


def test_every_table_of_the_papers_has_its_sweeps() -> None:
    expected = {
        "radam/cifar10_sgd",
        "radam/cifar10_adam",
        "radam/cifar10_radam",
        "radam/cifar10_adam_warmup",
        "radam/imagenet_sgd",
        "radam/imagenet_adam",
        "radam/imagenet_radam",
        "adabound/cifar10_resnet34",
        "adabound/cifar10_resnet34_adam",
        "adabound/cifar10_densenet121",
        "adam_decay_blog/lenet5",
        "adam_decay_blog/lenet5_plateau",
        "adam_decay_blog/lenet5_lr1e-4",
        "adam_decay_blog/lenet5_lr1e-4_plateau",
        "demo/digits",
        "demo/digits_warmup",
    }
    assert expected <= set(PAPER_SWEEPS)


@pytest.mark.parametrize("name", PAPER_SWEEPS)
def test_a_paper_sweep_expands_to_the_runs_its_header_declares(name: str, tmp_path: Path) -> None:
    with sweep_expansion([f"+paper={name}", f"runs_dir={tmp_path}"]) as (loader, master):
        jobs = grid_overrides(master, loader)
        root = tmp_path / str(master.sweep).replace("/", "_")
        first = plan_job(compose_job(loader, master, jobs[0]), CONFIG_DIR)
    assert len(jobs) == grid_size(name) == declared_runs(name)
    assert all(len(seeds) >= 3 for seeds in seeds_per_setting(jobs).values())
    assert first.path.is_relative_to(root) and first.action == "new"
    command = rf"^# Command: python -m experiments\.train -m \+paper={re.escape(name)}( |$)"
    assert re.search(command, header(name), re.MULTILINE)
    hours = first.gpu_hours
    expected = (
        "none" if hours is None else format_hours((hours[0] * len(jobs), hours[1] * len(jobs)))
    )
    assert declared_gpu_hours(name) == expected


@pytest.mark.slow
@pytest.mark.parametrize("name", PAPER_SWEEPS)
def test_every_run_of_a_paper_sweep_composes_into_its_own_directory(
    name: str, tmp_path: Path
) -> None:
    plan = plan_sweep([f"+paper={name}", f"runs_dir={tmp_path}"])
    paths = [run.path for run in plan.runs]
    assert len(set(paths)) == len(paths) == declared_runs(name)
    settings: dict[Path, set[int]] = defaultdict(set)
    for run in plan.runs:
        settings[run.path.parent].add(run.seed)
    assert all(len(seeds) >= 3 for seeds in settings.values())
    if declared_gpu_hours(name) == "none":
        assert all(run.gpu_hours is None for run in plan.runs)
    else:
        assert format_hours(plan.gpu_hours()) == declared_gpu_hours(name)


def test_the_command_line_sweep_syntax_multiplies_the_paper_grid(tmp_path: Path) -> None:
    plan = plan_sweep(["+paper=demo/digits_warmup", "seed=7,8", f"runs_dir={tmp_path}"])
    assert sorted(run.seed for run in plan.runs) == [7, 8]
    assert {run.overrides["schedule/warmup"] for run in plan.runs} == {"untuned_linear"}
    assert {run.optimizer for run in plan.runs} == {"adam"}


def test_the_estimate_scales_with_the_epochs_of_each_run(tmp_path: Path) -> None:
    recipe = plan_sweep(["+paper=adam_decay_blog/lenet5_plateau", f"runs_dir={tmp_path}"])
    longer = plan_sweep(["+paper=adam_decay_blog/lenet5_lr1e-4_plateau", f"runs_dir={tmp_path}"])
    low, high = recipe.runs[0].gpu_hours
    assert longer.runs[0].gpu_hours == pytest.approx((low * 120 / 50, high * 120 / 50))


def test_the_command_lists_the_runs_and_totals(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for split in ("train", "val"):  # the folders the recipe's data check looks for
        (data / "imagenet" / split).mkdir(parents=True)
    planned = sweep_plan(
        "-m", "+paper=radam/imagenet_radam", f"runs_dir={tmp_path}", f"data_dir={data}"
    )
    out = planned.stdout
    assert planned.returncode == 0, planned.stderr
    assert out.count("\n  new ") == 6
    assert "6 runs: 6 to launch (6 new, 0 to resume, 0 to re-run), 0 finished to skip" in out
    assert f"estimated GPU-hours: {declared_gpu_hours('radam/imagenet_radam')}" in out
    assert "launch: python -m experiments.train -m +paper=radam/imagenet_radam" in out


def test_runs_a_launch_would_refuse_are_listed_with_the_reason(tmp_path: Path) -> None:
    """Without its data, every run of the sweep is refused, with the one line a launch gives."""
    plan = plan_sweep(
        ["+paper=radam/imagenet_radam", f"runs_dir={tmp_path}", f"data_dir={tmp_path}"]
    )
    assert len(plan.runs) == 6 and plan.count("new") == 0
    assert {run.refused for run in plan.runs} == {plan.runs[0].refused}
    assert "ImageNet" in str(plan.runs[0].refused)


def test_a_bad_override_is_one_line_and_exit_2() -> None:
    planned = sweep_plan("+paper=radam/no_such_table")
    err = planned.stderr
    assert planned.returncode == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and "no_such_table" in err
