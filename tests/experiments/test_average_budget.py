"""Checkpoint averaging against the calendar, for any task (``experiments.calendar``, checked in
``experiments.assembly.build_run``): ``task.average.last`` above the snapshots of the recipe's
budget is refused; a run that ``max_steps`` stops before the last of them is warned among its
first lines, and its averaged metrics say they are partial (``avg/partial``, the progress line)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from experiments.assembly import build_run
from experiments.calendar import Calendar, check_average
from experiments.config_checks import ConfigError
from experiments.distributed import SINGLE_PROCESS
from experiments.tasks.contract import CheckpointAverage
from tests.experiments.cli import read_metrics, read_summary
from tests.experiments.test_sequence_task import RUN
from tests.runs_in_process import InProcessRun, compose_config

CALENDAR = Calendar((10, 10, 10), (10, 10, 10), (0, 10, 20), budget_updates=30, total=30)
"""Three epochs of ten updates."""
AVERAGED = (*RUN, "task.updates=80", "+task.average_last=3")
"""Epochs of about 20 updates: a snapshot at each epoch end, the last three averaged."""


def test_the_snapshots_a_calendar_takes() -> None:
    assert CALENDAR.snapshots(CheckpointAverage(last=1), 30) == 3  # one per epoch end
    assert CALENDAR.snapshots(CheckpointAverage(last=1), 29) == 2
    assert CALENDAR.snapshots(CheckpointAverage(last=1, every=4), 30) == 7
    assert check_average(CheckpointAverage(last=3), CALENDAR) is None
    with pytest.raises(ConfigError, match=r"task.average.last=4 is invalid: .* takes 3 snapshots"):
        check_average(CheckpointAverage(last=4), CALENDAR)


def test_a_max_steps_cap_before_the_last_snapshot_is_a_warning() -> None:
    capped = Calendar((10, 10, 10), (10, 10, 10), (0, 10, 20), budget_updates=30, total=25)
    warning = check_average(CheckpointAverage(last=3), capped)
    assert warning == (
        "warning: max_steps=25 stops before the 3 snapshots task.average.last averages: the "
        "averaged metrics will be partial (2 snapshots)"
    )
    early = Calendar((10, 10, 10), (10, 10, 10), (0, 10, 20), budget_updates=30, total=5)
    assert "will be absent (no snapshot is taken)" in str(
        check_average(CheckpointAverage(3), early)
    )
    assert check_average(CheckpointAverage(last=2), capped) is None  # its two are taken


def test_any_task_is_checked_when_its_run_is_built() -> None:
    cfg = compose_config(*RUN, "+task.average_last=50")
    with pytest.raises(ConfigError, match="task.average.last=50 is invalid"):
        build_run(cfg, SINGLE_PROCESS, torch.device("cpu"))


def test_a_capped_run_labels_its_averaged_metrics_partial(
    run_in_process: Callable[..., InProcessRun],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    done = run_in_process(*AVERAGED, "max_steps=50")
    out, err = capsys.readouterr()
    assert done.returncode == 0 and done.run_dir is not None, err
    first = out.splitlines()[:5]
    assert any(
        line.startswith("warning: max_steps=50 stops before the 3 snapshots") for line in first
    )
    last = read_metrics(done.run_dir)[-1]
    assert last["avg/partial"] is True and last["avg/snapshots"] == 2
    assert read_summary(done.run_dir)["final"]["avg/partial"] is True
    assert "(partial: 2 of 3 snapshots)" in out

    whole = run_in_process(*AVERAGED, runs_dir=tmp_path / "whole")
    assert whole.returncode == 0 and whole.run_dir is not None
    assert read_summary(whole.run_dir)["final"]["avg/partial"] is False
    assert "warning: max_steps" not in capsys.readouterr().out
