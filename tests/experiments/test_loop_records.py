"""What the loop records besides the final and best metrics: the snapshot of every metric at the
evaluation where the task's selection metric was best (``at_best``), and the metrics of the
average of the last parameter snapshots (checkpoint averaging, fairseq's
``average_checkpoints.py``), checked against a hand average evaluated here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from experiments.distributed import SINGLE_PROCESS
from experiments.runs import snapshots
from experiments.tasks.contract import Evaluation
from tests.experiments.cli import read_metrics, read_summary
from tests.experiments.sequence_task import build as build_sequence_task
from tests.experiments.test_sequence_task import RUN
from tests.runs_in_process import InProcessRun


def test_at_best_is_the_evaluation_with_the_best_selection_metric(
    run_in_process: Callable[..., InProcessRun],
) -> None:
    done = run_in_process("device=cpu", "task.epochs=4", "eval_every=10", "optimizer.lr=0.01")
    assert done.returncode == 0 and done.run_dir is not None
    summary = read_summary(done.run_dir)
    evaluations = [e for e in read_metrics(done.run_dir) if "val/loss" in e]
    best = min(evaluations, key=lambda e: e["val/loss"])
    at_best = summary["at_best"]
    assert at_best["metric"] == "val/loss", "digits selects on its validation split"
    assert at_best["step"] == best["step"] and at_best["value"] == best["val/loss"]
    assert at_best["metrics"] == {k: v for k, v in best.items() if "/" in k}
    assert best is not evaluations[-1], "lr 0.01 overfits digits: the best is not the last"


def test_checkpoint_averaging_evaluates_the_mean_of_the_last_snapshots(
    run_in_process: Callable[..., InProcessRun],
) -> None:
    done = run_in_process(*RUN, "task.updates=80", "+task.average_last=3")
    assert done.returncode == 0 and done.run_dir is not None
    kept = snapshots.snapshot_paths(done.run_dir)
    assert len(kept) == 3, "only the last three snapshots stay"
    events = read_metrics(done.run_dir)
    epoch_ends = [e["step"] for e in events if "val/loss" in e and e["epoch"] == int(e["epoch"])]
    assert [int(p.stem.split("-")[1]) for p in kept] == epoch_ends[-3:], "one per epoch end"
    summary = read_summary(done.run_dir)
    assert summary["final"]["avg/val/loss"] != summary["final"]["val/loss"]
    assert events[-1]["avg/snapshots"] == 3

    states = [torch.load(path, weights_only=True) for path in kept]
    by_hand = {
        name: (sum(state[name].double() for state in states) / 3).float() for name in states[0]
    }
    cfg = OmegaConf.load(done.run_dir / "config.yaml")
    task = build_sequence_task(cfg.task, seed=cfg.seed, data_dir="", device=torch.device("cpu"))
    task.model.load_state_dict(by_hand)
    task.model.eval()
    evaluation, loss, tokens = Evaluation(1, final=True, full=True), 0.0, 0.0
    with torch.no_grad():
        for batch in task.eval_batches("val", SINGLE_PROCESS):
            statistics = task.eval_step(task.model, batch, evaluation)
            loss, tokens = loss + float(statistics["loss"]), tokens + statistics["tokens"]
    assert summary["final"]["avg/val/loss"] == pytest.approx(loss / tokens, rel=1e-6)


def test_snapshot_average_is_the_float64_mean_cast_back(tmp_path: Path) -> None:
    for update, value in ((10, 1.0), (20, 2.0), (30, 4.5)):
        state = {"w": torch.full((2,), value, dtype=torch.float16), "n": torch.tensor(update)}
        snapshots.save_snapshot(tmp_path, update, state, keep=2)
    kept = snapshots.snapshot_paths(tmp_path)
    assert [p.name for p in kept] == ["update-000000020.pt", "update-000000030.pt"]
    averaged = snapshots.average(kept)
    assert averaged["w"].dtype == torch.float16 and averaged["w"].tolist() == [3.25, 3.25]
    assert averaged["n"].dtype == torch.int64 and int(averaged["n"]) == 25
