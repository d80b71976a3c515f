"""The GPU speed switches also run on CPU: bf16 autocast, channels_last, torch.compile."""

from __future__ import annotations

import pytest

from tests.experiments.cli import read_metrics, read_summary
from tests.runs_in_process import run_in_process

RUN = ("max_steps=20", "log_every=5", "device=cpu")


def losses(tmp_path, name: str, *overrides: str) -> list[float]:
    done = run_in_process(tmp_path / name / "runs", [*RUN, *overrides])
    assert done.returncode == 0 and done.run_dir is not None
    assert read_summary(done.run_dir)["status"] == "finished"
    return [event["train/loss"] for event in read_metrics(done.run_dir) if "train/loss" in event]


def test_bf16_autocast_and_channels_last_train_like_fp32(tmp_path) -> None:
    fp32 = losses(tmp_path, "fp32")
    bf16 = losses(tmp_path, "bf16", "task.precision=bf16")
    channels_last = losses(tmp_path, "channels_last", "+task.channels_last=true")
    assert bf16 != fp32  # autocast really ran in bf16 ...
    assert bf16 == pytest.approx(fp32, rel=2e-2)  # ... and trains the same way
    assert channels_last == pytest.approx(fp32, rel=1e-4)


@pytest.mark.slow
def test_compiled_model_trains_like_eager(tmp_path) -> None:
    eager = losses(tmp_path, "eager")
    compiled = losses(tmp_path, "compiled", "task.compile=true")
    assert compiled == pytest.approx(eager, rel=1e-4)
