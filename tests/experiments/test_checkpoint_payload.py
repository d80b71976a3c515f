"""The checkpoint module owns its payload: ``payload`` writes it, ``load`` checks it and
``restore`` puts a run back exactly (parameters, optimizer, schedule, task, RNGs, loop state)."""

from __future__ import annotations

import random
from pathlib import Path

import torch
from torch import nn

from experiments.loop_state import LoopState
from experiments.runs import checkpoint
from optimizers.schedules import build_schedule


class StatefulTask:
    def __init__(self) -> None:
        self.carried: dict[str, int] = {}
        self.checksums = {"toy/data.txt": "0" * 64}  # Task.checksums: the data it trains on

    def state_dict(self) -> dict[str, int]:
        return dict(self.carried)

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.carried = dict(state)


def trained(seed: int) -> tuple[nn.Module, torch.optim.Optimizer, object, StatefulTask]:
    torch.manual_seed(seed)
    model = nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    schedule = build_schedule({"name": "constant"}, base_lr=0.1, steps_per_epoch=5,
                              total_steps=50)  # fmt: skip
    return model, optimizer, schedule, StatefulTask()


def test_a_payload_restores_the_run_exactly(tmp_path: Path) -> None:
    model, optimizer, schedule, task = trained(0)
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    task.carried = {"hidden": 7}
    state = LoopState(update=12, epoch=2, position=3, time=1.5)
    content = checkpoint.payload(
        state=state, model=model, optimizer=optimizer, schedule=schedule, task=task,
        config={"seed": 1}, metrics_offset=321,
    )  # fmt: skip
    checkpoint.save(tmp_path / "checkpoint.pt", content)
    expected = (random.random(), torch.rand(1))

    saved = checkpoint.load(tmp_path / "checkpoint.pt")
    assert saved is not None and set(checkpoint.REQUIRED) <= set(saved)
    assert checkpoint.metrics_offset(saved) == 321
    assert checkpoint.stored_config(saved) == {"seed": 1}
    assert saved["data"] == task.checksums  # the data hashes the run trained on
    fresh_model, fresh_optimizer, fresh_schedule, fresh_task = trained(1)
    restored = checkpoint.restore(saved, fresh_model, fresh_optimizer, fresh_schedule, fresh_task)
    assert restored == state and fresh_task.carried == {"hidden": 7}
    for mine, theirs in zip(fresh_model.parameters(), model.parameters(), strict=True):
        assert torch.equal(mine, theirs)
    assert fresh_optimizer.state_dict()["state"][0]["step"] == 1
    assert (random.random(), torch.rand(1)) == expected, "the RNG states are restored"


def test_without_a_checkpoint_the_loop_starts_afresh() -> None:
    model, optimizer, schedule, task = trained(0)
    assert checkpoint.restore(None, model, optimizer, schedule, task) == LoopState()
    assert checkpoint.metrics_offset(None) == 0 and checkpoint.stored_config(None) is None


def test_windows_a_translation_task_kept_in_older_checkpoints_reach_the_loop(
    tmp_path: Path,
) -> None:
    model, optimizer, schedule, task = trained(0)
    state = LoopState(update=4)
    content = checkpoint.payload(
        state=state, model=model, optimizer=optimizer, schedule=schedule, task=task,
        config={}, metrics_offset=0,
    )  # fmt: skip
    del content["loop"]["since_evaluation"]  # as written before the loop kept the windows
    content["task"] = {"windows": {"nll": 5.0, "count": 2.0}}
    checkpoint.save(tmp_path / "checkpoint.pt", content)
    saved = checkpoint.load(tmp_path / "checkpoint.pt")
    restored = checkpoint.restore(saved, *trained(1))
    assert restored.update == 4 and restored.trained_means() == {"nll": 2.5}


def test_the_data_a_run_trained_on_is_compared_on_resume() -> None:
    recorded = {"data": {"ptb/ptb.train.txt": "a" * 64, "ptb/ptb.valid.txt": "b" * 64}}
    same = {"ptb/ptb.train.txt": "a" * 64, "ptb/ptb.valid.txt": "b" * 64}
    assert checkpoint.data_difference(recorded, same) is None
    changed = {**same, "ptb/ptb.train.txt": "c" * 64}
    assert checkpoint.data_difference(recorded, changed) == (
        f"ptb/ptb.train.txt: {'a' * 16} then, {'c' * 16} now"
    )
    assert "absent now" in checkpoint.data_difference(recorded, {"ptb/ptb.train.txt": "a" * 64})
    assert checkpoint.data_difference({}, changed) is None  # written before data hashes existed
    assert checkpoint.data_difference(None, changed) is None
