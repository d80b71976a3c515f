"""A finished run relaunched on data that changed since it trained is still "already finished"
(exit 0), but says so in one line naming what changed (issue 22, point 6); on the same data the
line is the usual one, and data that cannot be read now are said to be unchecked."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.experiments.language_model.lm_configs import TINY_PTB, write_corpora
from tests.runs_in_process import run_in_process

PTB_RUN = (
    "task=ptb_lstm1", *TINY_PTB, "max_steps=3", "log_every=1",
    "device=cpu", "keep_checkpoint=none",
)  # fmt: skip
"""Three updates; no checkpoint kept, so the hashes come from ``meta.json``."""


def test_a_finished_run_on_changed_data_says_what_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = write_corpora(tmp_path / "corpora")
    overrides = (f"data_dir={data_dir}", *PTB_RUN)
    first = run_in_process(tmp_path / "runs", overrides)
    assert first.returncode == 0 and first.run_dir is not None
    assert not (first.run_dir / "checkpoint.pt").exists()
    capsys.readouterr()

    again = run_in_process(tmp_path / "runs", overrides)
    out = capsys.readouterr().out
    assert again.returncode == 0
    assert "already finished (finished): results in" in out and "other data" not in out

    (train,) = data_dir.rglob("ptb.train.txt")
    lines = train.read_text().splitlines(keepends=True)
    train.write_text("".join(lines[1:]))  # one sentence fewer
    changed = run_in_process(tmp_path / "runs", overrides)
    out = capsys.readouterr().out
    assert changed.returncode == 0
    (line,) = [line for line in out.splitlines() if "already finished" in line]
    changes = line.split("with other data: ")[1].split(" changed;")[0].split(", ")
    assert "ptb/ptb.train.txt" in changes and "ptb/ptb.valid.txt" not in changes
    assert "force=true re-runs it" in line and str(first.run_dir) in line

    for text in data_dir.rglob("ptb.*.txt"):
        text.unlink()
    gone = run_in_process(tmp_path / "runs", overrides)
    out = capsys.readouterr().out
    assert gone.returncode == 0
    assert "already finished (finished) but its data cannot be checked now (" in out
