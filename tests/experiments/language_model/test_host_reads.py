"""No host-device synchronisation per step in the language-model tasks: the real loop trains the
tiny recipes in this process under the recorder of tests/experiments/test_host_reads.py, and no
tensor is read on the host outside log points, evaluations and checkpoints (the adaptive
softmax's clusters are planned on the host from the batch's targets; the hidden state is carried
on the device)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from experiments.distributed import SINGLE_PROCESS
from experiments.loop import train
from experiments.runs.prepare import prepare
from experiments.runs.signals import StopSignals
from experiments.torch_startup import seed_everything
from tests.experiments.language_model.lm_configs import (
    TINY_LM1B,
    TINY_PTB,
    composed,
    write_corpora,
)
from tests.experiments.test_host_reads import ALLOWED, HostReads

RECIPES = {
    "lm1b_lstm": ("optimizer=radam", *TINY_LM1B),
    "ptb_lstm2": ("optimizer=ntasgd", "optimizer.lr=4", "optimizer.nonmono=0", *TINY_PTB),
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpora(tmp_path_factory.mktemp("corpora"))


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_the_loop_reads_the_device_only_at_log_points(
    name: str, data_dir: Path, tmp_path: Path
) -> None:
    overrides = [f"task={name}", *RECIPES[name], f"data_dir={data_dir}", f"runs_dir={tmp_path}",
                 "device=cpu", "max_steps=40", "log_every=5", "eval_every=20",
                 "checkpoint_every=20"]  # fmt: skip
    cfg = composed(*overrides)
    seed_everything(cfg.seed, cfg.deterministic)
    optimizer = RECIPES[name][0].split("=")[1]
    prepared = prepare(cfg, overrides, {"task": name, "optimizer": optimizer}, SINGLE_PROCESS,
                       torch.device("cpu"))  # fmt: skip
    assert not isinstance(prepared, int)
    mode = HostReads()
    try:
        with StopSignals() as stop, mode:
            assert train(cfg, prepared, SINGLE_PROCESS, stop) == 0
    finally:
        prepared.run.release()
    outside = [read for read in mode.reads if read[1] not in ALLOWED]
    assert outside == [], f"host reads between log points: {outside}"
    assert len([read for read in mode.reads if read[1] == "read"]) >= 40 // 5
