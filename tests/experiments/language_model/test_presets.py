"""Every optimizer of the PTB sweeps lowers the validation loss of the tiny PTB LSTM below its value
at initialisation: the real loop (``experiments.train.train``) in this process, three epochs of
random-length windows with the recipe's clipping, weight decay and lr × length/70. (The tiny
corpus is random words: the loss falls to about their unigram entropy within an epoch.)

The learning rates are the rerun's for AdaBound and AMSBound (1e-2 with final_lr 30) and Adam and
RAdam on 2–3 layers (1e-2); SGD with NT-ASGD runs at 4, not the rerun's 30, which the 24-unit
model does not survive."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from experiments.distributed import SINGLE_PROCESS
from experiments.loop import evaluate, train
from experiments.runs.prepare import prepare
from experiments.runs.signals import StopSignals
from experiments.tasks.contract import Evaluation
from experiments.torch_startup import seed_everything
from tests.experiments.cli import read_metrics
from tests.experiments.language_model.lm_configs import TINY_PTB, composed, write_corpora

PRESETS = {
    "ntasgd_adabelief": ("optimizer.lr=4",),
    "ntasgd": ("optimizer.lr=4",),
    "adam": ("optimizer.lr=0.01",),
    "radam": ("optimizer.lr=0.01",),
    "adabound": ("optimizer.lr=0.01", "optimizer.final_lr=30"),
    "amsbound": ("optimizer.lr=0.01", "optimizer.final_lr=30"),
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpora(tmp_path_factory.mktemp("corpora"))


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_preset_lowers_the_ptb_validation_loss(preset: str, data_dir: Path, tmp_path: Path) -> None:
    overrides = [
        "task=ptb_lstm2", f"optimizer={preset}", *PRESETS[preset], *TINY_PTB, "task.epochs=3",
        f"data_dir={data_dir}", f"runs_dir={tmp_path}", "device=cpu", "log_every=10",
    ]  # fmt: skip
    cfg = composed(*overrides)
    seed_everything(cfg.seed, cfg.deterministic)
    choices = {"task": "ptb_lstm2", "optimizer": preset}
    prepared = prepare(cfg, overrides, choices, SINGLE_PROCESS, torch.device("cpu"))
    assert not isinstance(prepared, int)
    before = Evaluation(0, final=False, full=False)
    start = evaluate(prepared.task, prepared.model, SINGLE_PROCESS, torch.device("cpu"),
                     prepared.options, before)["val/loss"]  # fmt: skip
    try:
        with StopSignals() as stop:
            assert train(cfg, prepared, SINGLE_PROCESS, stop) == 0
    finally:
        prepared.run.release()
    losses = [e["val/loss"] for e in read_metrics(prepared.run.path) if "val/loss" in e]
    assert len(losses) == 3
    assert losses[-1] < start - 0.2, (start, losses)
